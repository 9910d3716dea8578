//! Cheap checks on a component's bytes before anything expensive: the header (a clear reason
//! beats a compiler error), and for submitted code a scan of its section headers against the
//! [`CompileLimits`], without validating or compiling anything.

use crate::error::LoadError;

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

/// The bytes are not well-formed WebAssembly where the scan read them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ScanError {
    message: String,
}

impl From<wasmparser::BinaryReaderError> for ScanError {
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        Self {
            message: e.to_string(),
        }
    }
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
fn section_has_gc_references(payload: &wasmparser::Payload<'_>) -> Result<bool, ScanError> {
    use wasmparser::{CompositeInnerType, ElementItems, Payload, TypeRef};
    let type_ref = |t: TypeRef| match t {
        TypeRef::Table(t) => !gc_free_ref(t.element_type),
        TypeRef::Global(g) => !gc_free(g.content_type),
        _ => false,
    };
    Ok(match payload {
        Payload::TypeSection(reader) => {
            for group in reader.clone() {
                for sub in group?.types() {
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
                for import in group? {
                    if type_ref(import?.1.ty) {
                        return Ok(true);
                    }
                }
            }
            false
        }
        Payload::TableSection(reader) => {
            for table in reader.clone() {
                if !gc_free_ref(table?.ty.element_type) {
                    return Ok(true);
                }
            }
            false
        }
        Payload::GlobalSection(reader) => {
            for global in reader.clone() {
                if !gc_free(global?.ty.content_type) {
                    return Ok(true);
                }
            }
            false
        }
        Payload::ElementSection(reader) => {
            for element in reader.clone() {
                if let ElementItems::Expressions(r, _) = element?.items
                    && !gc_free_ref(r)
                {
                    return Ok(true);
                }
            }
            false
        }
        Payload::CodeSectionEntry(body) => {
            for local in body.get_locals_reader()? {
                if !gc_free(local?.1) {
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
pub fn scan_code(bytes: &[u8]) -> Result<CodeShape, ScanError> {
    let mut shape = CodeShape::default();
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        let payload = payload?;
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

pub(crate) fn check_shape(
    origin: &str,
    bytes: &[u8],
    limits: &CompileLimits,
) -> Result<(), LoadError> {
    let too_complex = |reason: String| LoadError::TooComplex {
        origin: origin.to_owned(),
        reason,
    };
    let shape = scan_code(bytes).map_err(|e| LoadError::NotAComponent {
        origin: origin.to_owned(),
        reason: e.to_string(),
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
