//! Turning component bytes into something callable: checks, compile (or cache hit), world
//! detection, linking. Everything that can fail about a component fails here, before any call.

use std::sync::Arc;
use std::time::{Duration, Instant};

use contextworker_types::{Digest, HttpGrant, Metering, World};
use wasmtime::component::Component;

use crate::Runtime;
use crate::bindings::{classifier, code, enricher, transformer};
use crate::engine::Sandbox;
use crate::entry::WorldPre;
use crate::error::LoadError;
use crate::http::ModuleHttp;
use crate::scan::{CompileLimits, check_bytes, check_shape};

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
    /// Outbound HTTP, when the module's manifest grants it (its calls link `wasi:http`).
    pub(crate) http: Option<Arc<ModuleHttp>>,
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
    /// The outbound HTTP the component may make, as narrowed by the operator.
    pub fn http_grant(&self) -> Option<&HttpGrant> {
        self.http.as_ref().map(|h| &h.grant)
    }
}

/// What a module's manifest grants beyond the bare sandbox.
#[derive(Debug, Clone, Copy)]
pub struct Capabilities<'a> {
    /// The module's name: the operator's narrowing is keyed by it.
    pub module: &'a str,
    /// `[http]`: outbound HTTP through `wasi:http`.
    pub http: Option<&'a HttpGrant>,
}

/// A component file's bytes, and its path as the origin errors name.
async fn read_component(path: &std::path::Path) -> Result<(String, Vec<u8>), LoadError> {
    let origin = path.display().to_string();
    match tokio::fs::read(path).await {
        Ok(bytes) => Ok((origin, bytes)),
        Err(source) => Err(LoadError::Read { origin, source }),
    }
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

/// A component compiled (or found in the cache) for one engine, not yet linked.
struct Compiled<'a> {
    sandbox: &'a Sandbox,
    component: Component,
    digest: Digest,
    size_bytes: u64,
    from_cache: bool,
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
        let nothing = Capabilities {
            module: origin,
            http: None,
        };
        self.load_granted(origin, bytes, world, metering, nothing)
            .await
    }

    /// Load an operator's module with what its manifest grants (`wasi:http` is linked only
    /// for a module with an `[http]` grant; `code` components never get it).
    pub async fn load_granted(
        &self,
        origin: &str,
        bytes: Vec<u8>,
        world: World,
        metering: Metering,
        capabilities: Capabilities<'_>,
    ) -> Result<Arc<LoadedComponent>, LoadError> {
        self.load_with(
            origin,
            bytes,
            world,
            metering,
            CompileOn::BlockingPool,
            Some(capabilities),
        )
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
        self.load_with(origin, bytes, world, metering, CompileOn::OwnThread, None)
            .await
    }

    async fn load_with(
        &self,
        origin: &str,
        bytes: Vec<u8>,
        world: World,
        metering: Metering,
        on: CompileOn,
        capabilities: Option<Capabilities<'_>>,
    ) -> Result<Arc<LoadedComponent>, LoadError> {
        let started = Instant::now();
        let Compiled {
            sandbox,
            component,
            digest,
            size_bytes,
            from_cache,
        } = self.compile(origin, bytes, metering, on).await?;
        let found = detect_world(&sandbox.engine, &component);
        if found != Some(world) {
            return Err(LoadError::WrongWorld {
                origin: origin.to_owned(),
                expected: world,
                found,
            });
        }
        let http = capabilities
            .and_then(|c| c.http.map(|grant| (c.module, grant)))
            .map(|(module, grant)| Arc::new(self.http.module(module, grant)));
        if http.is_some() && world == World::Code {
            return Err(LoadError::Link {
                origin: origin.to_owned(),
                message: "code components never get outbound HTTP".into(),
            });
        }
        let pre = link(origin, sandbox, &component, world, http.is_some())?;
        Ok(Arc::new(LoadedComponent {
            pre,
            metering,
            http,
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
        let (origin, bytes) = read_component(path).await?;
        self.load(&origin, bytes, world, metering).await
    }

    /// Load an operator's module file with what its manifest grants ([`Runtime::load_granted`]).
    pub async fn load_file_granted(
        &self,
        path: &std::path::Path,
        world: World,
        metering: Metering,
        capabilities: Capabilities<'_>,
    ) -> Result<Arc<LoadedComponent>, LoadError> {
        let (origin, bytes) = read_component(path).await?;
        self.load_granted(&origin, bytes, world, metering, capabilities)
            .await
    }

    /// Which world `bytes` implement, or `None` if none of ours. Compiles (or hits the cache).
    pub async fn inspect_world(
        &self,
        origin: &str,
        bytes: Vec<u8>,
    ) -> Result<Option<World>, LoadError> {
        let compiled = self
            .compile(origin, bytes, Metering::Epoch, CompileOn::BlockingPool)
            .await?;
        Ok(detect_world(&compiled.sandbox.engine, &compiled.component))
    }

    /// Check `bytes`, then compile them for `metering`'s engine or find them in the cache.
    async fn compile(
        &self,
        origin: &str,
        bytes: Vec<u8>,
        metering: Metering,
        on: CompileOn,
    ) -> Result<Compiled<'_>, LoadError> {
        let sandbox = self.sandbox(metering).map_err(|e| LoadError::Compile {
            origin: origin.to_owned(),
            message: e.to_string(),
        })?;
        check_bytes(origin, &bytes, self.engines.config().max_component_bytes)?;
        let digest = Digest::of(&bytes);
        let size_bytes = bytes.len() as u64;
        let (component, from_cache) = self
            .compile_cached(origin, bytes, digest, sandbox, on)
            .await?;
        Ok(Compiled {
            sandbox,
            component,
            digest,
            size_bytes,
            from_cache,
        })
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
    http: bool,
) -> Result<WorldPre, LoadError> {
    let link_error = |e: wasmtime::Error| {
        let mut message = format!("{e:#}");
        if !http && message.contains("wasi:http") {
            message.push_str(
                " (the component makes HTTP requests: its manifest needs an [http] section \
                 naming what it may call)",
            );
        }
        LoadError::Link {
            origin: origin.to_owned(),
            message,
        }
    };
    let linker = sandbox.linker(world, http).ok_or_else(|| LoadError::Link {
        origin: origin.to_owned(),
        message: format!("{world} components never get outbound HTTP"),
    })?;
    let instance_pre = linker.instantiate_pre(component).map_err(link_error)?;
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
        World::Enricher => {
            WorldPre::Enricher(enricher::EnricherPre::new(instance_pre).map_err(exports_error)?)
        }
        World::Code => WorldPre::Code(code::CodePre::new(instance_pre).map_err(exports_error)?),
    })
}
