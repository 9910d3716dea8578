//! Turning component bytes into something callable: checks, compile (or cache hit), world
//! detection, linking. Everything that can fail about a component fails here, before any call.

use std::sync::Arc;
use std::time::{Duration, Instant};

use contextworker_types::{Digest, Metering, World};
use wasmtime::component::Component;

use crate::Runtime;
use crate::bindings::{classifier, code, transformer};
use crate::engine::Sandbox;
use crate::error::LoadError;
use crate::state::CallState;

/// The world-specific pre-instantiated form: imports resolved and exports type-checked once,
/// so each call only creates a store and instantiates.
pub(crate) enum WorldPre {
    Transformer(transformer::TransformerPre<CallState>),
    Classifier(classifier::ClassifierPre<CallState>),
    Code(code::CodePre<CallState>),
}

/// How a component became ready, for the load-time line users see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadStats {
    /// Compiled machine code came from the disk cache rather than the compiler.
    pub from_cache: bool,
    pub duration: Duration,
}

/// A component ready to call. Cheap to share: calls clone nothing but an `Arc`.
pub struct LoadedComponent {
    pub(crate) pre: WorldPre,
    pub(crate) metering: Metering,
    digest: Digest,
    world: World,
    origin: String,
    size_bytes: u64,
    stats: LoadStats,
}

impl std::fmt::Debug for LoadedComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedComponent")
            .field("origin", &self.origin)
            .field("world", &self.world)
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}

impl LoadedComponent {
    pub fn digest(&self) -> Digest {
        self.digest
    }
    pub fn world(&self) -> World {
        self.world
    }
    pub fn origin(&self) -> &str {
        &self.origin
    }
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }
    pub fn stats(&self) -> LoadStats {
        self.stats
    }
    pub fn metering(&self) -> Metering {
        self.metering
    }
}

const WASM_MAGIC: &[u8; 4] = b"\0asm";
/// Version field of a component binary (layer 1); a core module has `01 00 00 00`.
const COMPONENT_VERSION: [u8; 4] = [0x0d, 0x00, 0x01, 0x00];
const CORE_MODULE_VERSION: [u8; 4] = [0x01, 0x00, 0x00, 0x00];

/// Cheap checks on raw bytes before anything expensive: a clear reason beats a compiler error.
pub(crate) fn check_bytes(origin: &str, bytes: &[u8], limit: u64) -> Result<(), LoadError> {
    let size = bytes.len() as u64;
    if size > limit {
        return Err(LoadError::TooLarge {
            origin: origin.to_owned(),
            size,
            limit,
        });
    }
    let not_a_component = |reason: &str| LoadError::NotAComponent {
        origin: origin.to_owned(),
        reason: reason.to_owned(),
    };
    if bytes.starts_with(b"\x7fELF") {
        return Err(LoadError::Precompiled {
            origin: origin.to_owned(),
        });
    }
    if bytes.is_empty() {
        return Err(not_a_component("the file is empty"));
    }
    if bytes.len() < 8 || &bytes[..4] != WASM_MAGIC {
        return Err(not_a_component(
            "it does not start with the WebAssembly magic bytes `\\0asm`",
        ));
    }
    match <[u8; 4]>::try_from(&bytes[4..8]) {
        Ok(COMPONENT_VERSION) => Ok(()),
        Ok(CORE_MODULE_VERSION) => Err(not_a_component(
            "it is a core WebAssembly module; build a component with `cargo build --target wasm32-wasip2` or `cargo component build`",
        )),
        _ => Err(not_a_component("unknown WebAssembly binary version")),
    }
}

/// How much code a caller-submitted component may ask the compiler to handle. Cranelift's
/// time grows with the number of functions and the size of each body; both are read from the
/// binary's section headers without validating or compiling anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompileLimits {
    /// Core functions with bodies, summed over every module the component holds.
    pub max_functions: u64,
    /// The largest single function body, in bytes.
    pub max_function_bytes: u64,
    /// Core modules and nested components.
    pub max_modules: u64,
}

impl Default for CompileLimits {
    fn default() -> Self {
        // The JavaScript engine (Boa, about 3 MB) is the largest `code` component we know of.
        Self {
            max_functions: 20_000,
            max_function_bytes: 512 * 1024,
            max_modules: 32,
        }
    }
}

/// What a pre-scan found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CodeShape {
    pub functions: u64,
    pub largest_function_bytes: u64,
    pub modules: u64,
    /// A type, table, global, element segment or local that holds a reference other than
    /// `funcref` (`externref`, GC types): the road into wasmtime's GC heap.
    pub gc_references: bool,
}

/// Whether `ty` stays out of the GC heap: numbers, vectors, and untyped function references.
fn gc_free(ty: wasmparser::ValType) -> bool {
    match ty {
        wasmparser::ValType::Ref(r) => gc_free_ref(r),
        _ => true,
    }
}

fn gc_free_ref(r: wasmparser::RefType) -> bool {
    r.heap_type() == wasmparser::HeapType::FUNC
}

/// Whether a section of a core module declares a non-`funcref` reference anywhere.
fn section_has_gc_references(payload: &wasmparser::Payload<'_>) -> Result<bool, String> {
    use wasmparser::{CompositeInnerType, ElementItems, Payload, TypeRef};
    let err = |e: wasmparser::BinaryReaderError| e.to_string();
    let type_ref = |t: TypeRef| match t {
        TypeRef::Table(t) => !gc_free_ref(t.element_type),
        TypeRef::Global(g) => !gc_free(g.content_type),
        _ => false,
    };
    Ok(match payload {
        Payload::TypeSection(reader) => {
            for group in reader.clone() {
                for sub in group.map_err(err)?.types() {
                    match &sub.composite_type.inner {
                        CompositeInnerType::Func(f) => {
                            if !f.params().iter().chain(f.results()).all(|t| gc_free(*t)) {
                                return Ok(true);
                            }
                        }
                        // Structs, arrays and continuations are GC or stack-switching types.
                        _ => return Ok(true),
                    }
                }
            }
            false
        }
        Payload::ImportSection(reader) => {
            for group in reader.clone() {
                for import in group.map_err(err)? {
                    if type_ref(import.map_err(err)?.1.ty) {
                        return Ok(true);
                    }
                }
            }
            false
        }
        Payload::TableSection(reader) => {
            for table in reader.clone() {
                if !gc_free_ref(table.map_err(err)?.ty.element_type) {
                    return Ok(true);
                }
            }
            false
        }
        Payload::GlobalSection(reader) => {
            for global in reader.clone() {
                if !gc_free(global.map_err(err)?.ty.content_type) {
                    return Ok(true);
                }
            }
            false
        }
        Payload::ElementSection(reader) => {
            for element in reader.clone() {
                if let ElementItems::Expressions(r, _) = element.map_err(err)?.items
                    && !gc_free_ref(r)
                {
                    return Ok(true);
                }
            }
            false
        }
        Payload::CodeSectionEntry(body) => {
            for local in body.get_locals_reader().map_err(err)? {
                if !gc_free(local.map_err(err)?.1) {
                    return Ok(true);
                }
            }
            false
        }
        _ => false,
    })
}

/// Read the shape of `bytes` from its section headers: no validation, no compile, linear in
/// the number of sections and function headers.
pub fn scan_code(bytes: &[u8]) -> Result<CodeShape, String> {
    let mut shape = CodeShape::default();
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| e.to_string())?;
        if !shape.gc_references && section_has_gc_references(&payload)? {
            shape.gc_references = true;
        }
        match payload {
            wasmparser::Payload::CodeSectionStart { count, .. } => {
                shape.functions = shape.functions.saturating_add(u64::from(count));
            }
            wasmparser::Payload::CodeSectionEntry(body) => {
                shape.largest_function_bytes =
                    shape.largest_function_bytes.max(body.range().len() as u64);
            }
            wasmparser::Payload::ModuleSection { .. }
            | wasmparser::Payload::ComponentSection { .. } => {
                shape.modules = shape.modules.saturating_add(1);
            }
            _ => {}
        }
    }
    Ok(shape)
}

fn check_shape(origin: &str, bytes: &[u8], limits: &CompileLimits) -> Result<(), LoadError> {
    let too_complex = |reason: String| LoadError::TooComplex {
        origin: origin.to_owned(),
        reason,
    };
    let shape = scan_code(bytes).map_err(|reason| LoadError::NotAComponent {
        origin: origin.to_owned(),
        reason,
    })?;
    if shape.functions > limits.max_functions {
        return Err(too_complex(format!(
            "{} functions is over the limit of {} for submitted code",
            shape.functions, limits.max_functions
        )));
    }
    if shape.largest_function_bytes > limits.max_function_bytes {
        return Err(too_complex(format!(
            "a function body of {} bytes is over the limit of {} for submitted code",
            shape.largest_function_bytes, limits.max_function_bytes
        )));
    }
    if shape.gc_references {
        // wasmtime 48.0.9 fixes aborts in the GC heap (GHSA-43j2, GHSA-wvgq) that 48.0.8, the
        // newest this registry has, still carries; submitted code never needs the GC heap.
        return Err(LoadError::FeatureRefused {
            origin: origin.to_owned(),
            reason:
                "it declares `externref` or GC reference types, which submitted code may not use"
                    .to_owned(),
        });
    }
    if shape.modules > limits.max_modules {
        return Err(too_complex(format!(
            "{} nested modules and components is over the limit of {} for submitted code",
            shape.modules, limits.max_modules
        )));
    }
    Ok(())
}

/// Where a compile runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CompileOn {
    /// tokio's blocking pool: the operator's own modules.
    BlockingPool,
    /// A thread of its own, so callers' compiles never queue behind (or in front of) the
    /// blocking pool that the harvests' file I/O shares; how many run at once is the
    /// caller's to bound (ExecuteCode holds a slot per compile).
    OwnThread,
}

/// Which world a compiled component implements, judged by its exported entry point.
pub(crate) fn detect_world(engine: &wasmtime::Engine, component: &Component) -> Option<World> {
    let ty = component.component_type();
    let exports: Vec<&str> = ty.exports(engine).map(|(name, _)| name).collect();
    World::ALL
        .into_iter()
        .find(|w| exports.contains(&w.entry_point()))
}

impl Runtime {
    /// Make `bytes` callable as a component of `world`. `origin` names the source in errors
    /// (a path, a module name, "submitted code").
    pub async fn load(
        &self,
        origin: &str,
        bytes: Vec<u8>,
        world: World,
        metering: Metering,
    ) -> Result<Arc<LoadedComponent>, LoadError> {
        self.load_with(origin, bytes, world, metering, CompileOn::BlockingPool)
            .await
    }

    /// Load code a caller submitted: a pre-scan refuses components past `limits` before
    /// anything is compiled, and the compile runs on a thread of its own. The future may be
    /// dropped (a caller that gave up); the compile then still finishes, and its result goes
    /// to the disk cache.
    pub async fn load_submitted(
        &self,
        origin: &str,
        bytes: Vec<u8>,
        world: World,
        metering: Metering,
        limits: &CompileLimits,
    ) -> Result<Arc<LoadedComponent>, LoadError> {
        check_bytes(origin, &bytes, self.engines.config().max_component_bytes)?;
        check_shape(origin, &bytes, limits)?;
        self.load_with(origin, bytes, world, metering, CompileOn::OwnThread)
            .await
    }

    async fn load_with(
        &self,
        origin: &str,
        bytes: Vec<u8>,
        world: World,
        metering: Metering,
        on: CompileOn,
    ) -> Result<Arc<LoadedComponent>, LoadError> {
        let started = Instant::now();
        let sandbox = self
            .sandbox(metering)
            .map_err(|message| LoadError::Compile {
                origin: origin.to_owned(),
                message,
            })?;
        check_bytes(origin, &bytes, self.engines.config().max_component_bytes)?;
        let digest = Digest::of(&bytes);
        let size_bytes = bytes.len() as u64;
        let (component, from_cache) = self
            .compile_cached(origin, bytes, digest, sandbox, on)
            .await?;
        let found = detect_world(&sandbox.engine, &component);
        if found != Some(world) {
            return Err(LoadError::WrongWorld {
                origin: origin.to_owned(),
                expected: world,
                found,
            });
        }
        let pre = link(origin, sandbox, &component, world)?;
        Ok(Arc::new(LoadedComponent {
            pre,
            metering,
            digest,
            world,
            origin: origin.to_owned(),
            size_bytes,
            stats: LoadStats {
                from_cache,
                duration: started.elapsed(),
            },
        }))
    }

    /// Load a component file.
    pub async fn load_file(
        &self,
        path: &std::path::Path,
        world: World,
        metering: Metering,
    ) -> Result<Arc<LoadedComponent>, LoadError> {
        let origin = path.display().to_string();
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|source| LoadError::Read {
                origin: origin.clone(),
                source,
            })?;
        self.load(&origin, bytes, world, metering).await
    }

    /// Which world `bytes` implement, or `None` if none of ours. Compiles (or hits the cache).
    pub async fn inspect_world(
        &self,
        origin: &str,
        bytes: Vec<u8>,
    ) -> Result<Option<World>, LoadError> {
        let sandbox = self
            .sandbox(Metering::Epoch)
            .map_err(|message| LoadError::Compile {
                origin: origin.to_owned(),
                message,
            })?;
        check_bytes(origin, &bytes, self.engines.config().max_component_bytes)?;
        let digest = Digest::of(&bytes);
        let (component, _) = self
            .compile_cached(origin, bytes, digest, sandbox, CompileOn::BlockingPool)
            .await?;
        Ok(detect_world(&sandbox.engine, &component))
    }

    async fn compile_cached(
        &self,
        origin: &str,
        bytes: Vec<u8>,
        digest: Digest,
        sandbox: &Sandbox,
        on: CompileOn,
    ) -> Result<(Component, bool), LoadError> {
        let engine = sandbox.engine.clone();
        let key = sandbox.cache_key.clone();
        let cache = self.cache.clone();
        let origin_owned = origin.to_owned();
        let compile = move || {
            if let Some(hit) = cache.as_ref().and_then(|c| c.load(&engine, &key, &digest)) {
                return Ok((hit, true));
            }
            let started = Instant::now();
            let component = Component::new(&engine, &bytes).map_err(|e| LoadError::Compile {
                origin: origin_owned.clone(),
                message: format!("{e:#}"),
            })?;
            tracing::info!(
                origin = ?origin_owned,
                digest = %digest.short(),
                ms = started.elapsed().as_millis() as u64,
                "compiled a component"
            );
            if let Some(cache) = &cache {
                cache.store(&key, &digest, &component);
            }
            Ok((component, false))
        };
        let failed = |reason: String| LoadError::Compile {
            origin: origin.to_owned(),
            message: format!("compiler task failed: {reason}"),
        };
        match on {
            // Compiling is CPU-heavy and can take seconds: keep it off the async workers that
            // serve activities and RPCs.
            CompileOn::BlockingPool => tokio::task::spawn_blocking(compile)
                .await
                .map_err(|e| failed(e.to_string()))?,
            CompileOn::OwnThread => {
                let (tx, rx) = tokio::sync::oneshot::channel();
                std::thread::Builder::new()
                    .name("wasm-compile".into())
                    .spawn(move || {
                        let _ = tx.send(compile());
                    })
                    .map_err(|e| failed(e.to_string()))?;
                rx.await
                    .map_err(|_| failed("the compile thread ended without a result".into()))?
            }
        }
    }
}

fn link(
    origin: &str,
    sandbox: &Sandbox,
    component: &Component,
    world: World,
) -> Result<WorldPre, LoadError> {
    let link_error = |e: wasmtime::Error| LoadError::Link {
        origin: origin.to_owned(),
        message: format!("{e:#}"),
    };
    let instance_pre = sandbox
        .linker(world)
        .instantiate_pre(component)
        .map_err(link_error)?;
    let exports_error = |e: wasmtime::Error| LoadError::Link {
        origin: origin.to_owned(),
        message: format!(
            "its `{}` export does not match the {world} world: {e:#}",
            world.entry_point()
        ),
    };
    Ok(match world {
        World::Transformer => WorldPre::Transformer(
            transformer::TransformerPre::new(instance_pre).map_err(exports_error)?,
        ),
        World::Classifier => WorldPre::Classifier(
            classifier::ClassifierPre::new(instance_pre).map_err(exports_error)?,
        ),
        World::Code => WorldPre::Code(code::CodePre::new(instance_pre).map_err(exports_error)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_checks_name_the_problem() {
        let check = |b: &[u8]| check_bytes("x.wasm", b, 1 << 20).map_err(|e| e.to_string());
        assert!(check(b"").unwrap_err().contains("empty"));
        assert!(check(b"hello world").unwrap_err().contains("magic"));
        assert!(
            check(b"\0asm\x01\0\0\0")
                .unwrap_err()
                .contains("core WebAssembly module")
        );
        assert!(
            check(b"\x7fELF\x02\x01\x01")
                .unwrap_err()
                .contains("precompiled")
        );
        assert!(check(b"\0asm\x0d\0\x01\0").is_ok());
        assert!(
            check_bytes("x", &[0u8; 100], 10)
                .unwrap_err()
                .to_string()
                .contains("over the 10-byte limit")
        );
    }

    #[test]
    fn the_pre_scan_finds_references_that_lead_into_the_gc_heap() {
        let refused = [
            "(component (core module (table 1 externref)))",
            "(component (core module (global (mut externref) (ref.null extern))))",
            "(component (core module (func (param externref))))",
            "(component (core module (func (local externref))))",
            "(component (core module (import \"m\" \"t\" (table 1 externref))))",
        ];
        for text in refused {
            let bytes = wat::parse_str(text).expect(text);
            assert!(scan_code(&bytes).expect(text).gc_references, "{text}");
            let err = check_shape("c", &bytes, &CompileLimits::default()).expect_err(text);
            assert!(matches!(err, LoadError::FeatureRefused { .. }), "{err}");
        }
        let fine = "(component (core module (table 2 funcref) (func (param i32) (local funcref))))";
        let bytes = wat::parse_str(fine).expect("valid");
        assert!(!scan_code(&bytes).expect("scans").gc_references);
    }

    #[test]
    fn the_pre_scan_counts_functions_and_body_sizes_in_nested_modules() {
        let funcs = "(func (result i32) i32.const 1)".repeat(3);
        let big = format!(
            "(func (result i32) {} )",
            "i32.const 1 drop ".repeat(200) + "i32.const 0"
        );
        let text = format!("(component (core module {funcs}) (component (core module {big})))");
        let bytes = wat::parse_str(&text).expect("valid text");
        let shape = scan_code(&bytes).expect("scans");
        assert_eq!(shape.functions, 4);
        assert_eq!(shape.modules, 3);
        assert!(shape.largest_function_bytes > 400, "{shape:?}");
        let limits = CompileLimits {
            max_functions: 3,
            ..CompileLimits::default()
        };
        let err = check_shape("c.wasm", &bytes, &limits).expect_err("too many functions");
        assert!(matches!(err, LoadError::TooComplex { .. }), "{err}");
        assert!(err.to_string().contains("4 functions"), "{err}");
        let limits = CompileLimits {
            max_function_bytes: 100,
            ..CompileLimits::default()
        };
        assert!(check_shape("c.wasm", &bytes, &limits).is_err());
        assert!(check_shape("c.wasm", &bytes, &CompileLimits::default()).is_ok());
    }
}
