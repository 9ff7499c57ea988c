//! `Logger` for [`WasmAdapter`]: the browser console on wasm32; natively a bounded
//! in-memory sink that tests can read.

use crate::runtime::WasmAdapter;
use aimdb_executor::Logger;
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use spin::Mutex;

/// Severity, lowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Everything.
    Debug,
    /// Informational and above (the default).
    Info,
    /// Warnings and errors.
    Warn,
    /// Errors only.
    Error,
    /// Nothing.
    Off,
}

/// Where the adapter's log lines go: filtered by level, then to the console (wasm32) or
/// kept in memory (native, the last [`LogSink::CAPACITY`] lines). Cloning shares it.
#[derive(Clone, Debug)]
pub struct LogSink {
    min: LogLevel,
    lines: Arc<Mutex<VecDeque<(LogLevel, String)>>>,
}

impl Default for LogSink {
    fn default() -> Self {
        Self::new(LogLevel::Info)
    }
}

impl LogSink {
    /// Lines kept natively.
    pub const CAPACITY: usize = 256;

    /// A sink dropping lines below `min`.
    pub fn new(min: LogLevel) -> Self {
        Self { min, lines: Arc::default() }
    }

    /// Logs one line.
    pub fn log(&self, level: LogLevel, message: &str) {
        if level < self.min || level == LogLevel::Off {
            return;
        }
        #[cfg(target_arch = "wasm32")]
        {
            let msg = wasm_bindgen::JsValue::from_str(message);
            match level {
                LogLevel::Debug => web_sys::console::debug_1(&msg),
                LogLevel::Info => web_sys::console::info_1(&msg),
                LogLevel::Warn => web_sys::console::warn_1(&msg),
                LogLevel::Error | LogLevel::Off => web_sys::console::error_1(&msg),
            }
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            let mut lines = self.lines.lock();
            if lines.len() == Self::CAPACITY {
                lines.pop_front();
            }
            lines.push_back((level, String::from(message)));
        }
    }

    /// The lines kept so far (native; always empty on wasm32, where lines go to the
    /// console).
    pub fn lines(&self) -> Vec<(LogLevel, String)> {
        self.lines.lock().iter().cloned().collect()
    }
}

impl Logger for WasmAdapter {
    fn info(&self, message: &str) {
        self.log().log(LogLevel::Info, message);
    }
    fn debug(&self, message: &str) {
        self.log().log(LogLevel::Debug, message);
    }
    fn warn(&self, message: &str) {
        self.log().log(LogLevel::Warn, message);
    }
    fn error(&self, message: &str) {
        self.log().log(LogLevel::Error, message);
    }
}
