//! The schema registry: which contracts this module carries, by name.
//!
//! Built-ins (`temperature`, `humidity`, `gps_location`, `setpoint`) are registered on first use;
//! an app crate adds its own with [`register`]. Each entry erases a [`Contract`] type
//! behind [`ErasedSchema`], so the JS facade can validate and create records by name.

use crate::contracts::{Contract, ContractError, GpsLocation, Humidity, Setpoint, Temperature};
use core::any::TypeId;
use core::fmt;
use core::marker::PhantomData;
use std::cell::RefCell;
use std::rc::Rc;

/// A contract type, seen through its name.
pub trait ErasedSchema {
    /// `SchemaType::NAME`.
    fn name(&self) -> &'static str;
    /// `SchemaType::VERSION`.
    fn version(&self) -> u32;
    /// The Rust type behind the name.
    fn type_id(&self) -> TypeId;
    /// Parses JSON text (running migrations) and returns the validated value
    /// re-serialized in the current version.
    fn validate_json(&self, text: &str) -> Result<String, ContractError>;
    /// Reads the value on the tape straight into the contract type (running migrations)
    /// and returns the validated value as a JS object of the current version.
    #[cfg(target_arch = "wasm32")]
    fn validate_tape(&self, tape: &crate::js::tape::Tape<'_>) -> Result<wasm_bindgen::JsValue, ContractError>;
    /// Creates a record of this type (the JS facade's typed record).
    #[cfg(target_arch = "wasm32")]
    fn create_record(
        &self,
        ctx: &crate::js::record::RecordCtx,
    ) -> Result<Rc<dyn crate::js::record::DynRecord>, crate::js::error::FacadeError>;
}

struct Schema<T>(PhantomData<fn() -> T>);

impl<T: Contract> ErasedSchema for Schema<T> {
    fn name(&self) -> &'static str {
        T::NAME
    }
    fn version(&self) -> u32 {
        T::VERSION
    }
    fn type_id(&self) -> TypeId {
        TypeId::of::<T>()
    }
    fn validate_json(&self, text: &str) -> Result<String, ContractError> {
        let value = T::from_json_str(text)?;
        serde_json::to_string(&value).map_err(|e| ContractError {
            schema: T::NAME.into(),
            path: String::new(),
            message: e.to_string(),
        })
    }
    #[cfg(target_arch = "wasm32")]
    fn validate_tape(&self, tape: &crate::js::tape::Tape<'_>) -> Result<wasm_bindgen::JsValue, ContractError> {
        let value = T::from_input(&tape.input(0))?;
        crate::js::out::to_js(&value).map_err(|e| ContractError::new(T::NAME, "", e.to_string()))
    }
    #[cfg(target_arch = "wasm32")]
    fn create_record(
        &self,
        ctx: &crate::js::record::RecordCtx,
    ) -> Result<Rc<dyn crate::js::record::DynRecord>, crate::js::error::FacadeError> {
        crate::js::record::TypedRecord::<T>::create(ctx)
    }
}

/// Registering a second, different type under a name already taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaConflict {
    /// The contested name.
    pub name: &'static str,
}

impl fmt::Display for SchemaConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "schema `{}` is already registered with a different Rust type", self.name)
    }
}

impl std::error::Error for SchemaConflict {}

thread_local! {
    static REGISTRY: RefCell<Vec<Rc<dyn ErasedSchema>>> = RefCell::new(builtins());
}

fn builtins() -> Vec<Rc<dyn ErasedSchema>> {
    vec![
        Rc::new(Schema::<Temperature>(PhantomData)),
        Rc::new(Schema::<Humidity>(PhantomData)),
        Rc::new(Schema::<GpsLocation>(PhantomData)),
        Rc::new(Schema::<Setpoint>(PhantomData)),
    ]
}

/// Adds contract `T` under `T::NAME`. Registering the same type again is a no-op; another
/// type under a taken name is an error.
pub fn register<T: Contract>() -> Result<(), SchemaConflict> {
    REGISTRY.with(|r| {
        let mut r = r.borrow_mut();
        match r.iter().find(|s| s.name() == T::NAME) {
            Some(s) if s.type_id() == TypeId::of::<T>() => Ok(()),
            Some(_) => Err(SchemaConflict { name: T::NAME }),
            None => {
                r.push(Rc::new(Schema::<T>(PhantomData)));
                Ok(())
            }
        }
    })
}

/// The contract registered as `name`.
pub fn lookup(name: &str) -> Option<Rc<dyn ErasedSchema>> {
    REGISTRY.with(|r| r.borrow().iter().find(|s| s.name() == name).cloned())
}

/// Names of every registered contract, in registration order.
pub fn known_schemas() -> Vec<&'static str> {
    REGISTRY.with(|r| r.borrow().iter().map(|s| s.name()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_known_and_validate() {
        assert_eq!(known_schemas(), ["temperature", "humidity", "gps_location", "setpoint"]);
        let t = lookup("temperature").unwrap();
        assert_eq!(t.version(), 2);
        let out = t.validate_json(r#"{"schema_version":2,"celsius":21.5,"timestamp":1}"#).unwrap();
        assert_eq!(out, r#"{"schema_version":2,"celsius":21.5,"timestamp":1}"#);
        let err = t.validate_json(r#"{"schema_version":2,"celsius":"hot","timestamp":1}"#).unwrap_err();
        assert_eq!(err.path, "celsius");
        assert!(lookup("nope").is_none());
    }

    #[test]
    fn registering_twice_is_a_no_op_and_a_clash_is_an_error() {
        assert_eq!(register::<Humidity>(), Ok(()));
        assert_eq!(known_schemas().iter().filter(|n| **n == "humidity").count(), 1);
    }
}
