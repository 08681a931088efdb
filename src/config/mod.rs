//! Directive model, validation and federation presets. (Skeleton; to be written.)

use crate::api::ConfigError;
use crate::engine::Sesame;

/// Collects raw directive values from an adapter, then validates them all in `build`.
/// Keys are the nginx directive names without the `sesame_` prefix (`redis`, `secret_file`,
/// provider keys `preset`, `client_id`...). Values are the directive's arguments joined by " ".
#[derive(Debug, Default)]
pub struct ConfigBuilder {}

impl ConfigBuilder {
    pub fn new() -> Self {
        ConfigBuilder::default()
    }
    pub fn set_global(&mut self, _key: &str, _value: &str) -> Result<(), ConfigError> {
        todo!()
    }
    pub fn add_provider(&mut self, _name: &str) -> Result<(), ConfigError> {
        todo!()
    }
    pub fn set_provider(
        &mut self,
        _name: &str,
        _key: &str,
        _value: &str,
    ) -> Result<(), ConfigError> {
        todo!()
    }
    pub fn build(self) -> Result<Sesame, ConfigError> {
        todo!()
    }
}
