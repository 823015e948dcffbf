//! The schema the data-reader targets read against: the inputs of the shipped provincial policy
//! (DATA.md, with its declared ranges), compiled into the target.

use doudi_interpreter::data::Schema;
use std::sync::OnceLock;

pub fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let text = include_str!("../../policies/jiangxi/inputs.doudi");
        match doudi_interpreter::Policy::from_source("inputs.doudi", text) {
            Ok(l) => l.policy.schema,
            Err(e) => panic!("the shipped inputs do not load: {}", e.render()),
        }
    })
}
