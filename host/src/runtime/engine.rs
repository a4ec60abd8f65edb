//! The process-wide wasmtime engine and the on-disk cache of compiled components.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::component::Component;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Plugin executions the pooling allocator has slots for.
pub const INSTANCE_SLOTS: u32 = 256;
/// No plugin may be given more linear memory than this.
pub const MAX_PLUGIN_MEMORY: usize = 1 << 30;

fn config(pooling: bool) -> Config {
    let mut config = Config::new();
    config.epoch_interruption(true);
    // Plugins use classic (synchronous-ABI) functions; no component-model-async state per store.
    config.concurrency_support(false);
    if pooling {
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(INSTANCE_SLOTS)
            .total_core_instances(INSTANCE_SLOTS * 4)
            .total_memories(INSTANCE_SLOTS)
            .total_tables(INSTANCE_SLOTS * 2)
            .total_stacks(INSTANCE_SLOTS)
            .max_memory_size(MAX_PLUGIN_MEMORY)
            .max_component_instance_size(4 << 20)
            .decommit_batch_size(32)
            .linear_memory_keep_resident(64 << 10)
            // Fibers reuse their stack pages instead of faulting them in per call.
            .async_stack_keep_resident(128 << 10)
            .table_keep_resident(16 << 10)
            .max_unused_warm_slots(32);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}

/// The pooling allocator reserves a lot of virtual address space; where that
/// fails (`ulimit -v`, small address spaces) fall back to on-demand.
pub fn new_engine() -> anyhow::Result<Engine> {
    match Engine::new(&config(true)) {
        Ok(engine) => Ok(engine),
        Err(e) => {
            tracing::warn!(error = %e, "pooling allocator unavailable, allocating instances on demand");
            Ok(Engine::new(&config(false))?)
        }
    }
}

/// Compiles `.wasm` bytes, or loads the compiled form this engine made before.
pub struct CompileCache {
    dir: PathBuf,
}

impl CompileCache {
    /// Cache entries live under a directory named after the engine's
    /// compatibility hash, so a wasmtime upgrade never loads stale code.
    pub fn new(engine: &Engine, data_dir: &Path) -> anyhow::Result<Self> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        let dir = data_dir
            .join("compiled")
            .join(format!("{:016x}", h.finish()));
        std::fs::create_dir_all(&dir)?;
        Ok(CompileCache { dir })
    }

    pub fn load(&self, engine: &Engine, wasm: &[u8], hash: &str) -> anyhow::Result<Component> {
        let path = self.dir.join(format!("{hash}.cwasm"));
        if path.exists() {
            // Safety: the file was written by this process's engine
            // configuration (the directory is keyed by its compatibility
            // hash) into Wharf's own data directory, and is named by the
            // BLAKE3 of the source it was compiled from.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok(component),
                Err(e) => {
                    tracing::warn!(error = %e, path = %path.display(), "discarding unreadable compiled component")
                }
            }
        }
        let component = Component::new(engine, wasm)
            .map_err(|e| anyhow::anyhow!("compiling the component: {e:#}"))?;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, component.serialize()?)?;
        std::fs::rename(&tmp, &path)?;
        Ok(component)
    }
}
