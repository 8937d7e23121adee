//! Any bytes, any receiving role: the validator must not panic, and whatever it answers
//! must itself be well-formed — a message that validates again after serialisation, or
//! an `Erro` that a DS accepts as a valid `Erro`.
//!
//! Run (stable toolchain, see the crate README):
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run validate -- -max_total_time=300`

#![no_main]

use emv3ds::{Context, Message, Role, Validator};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for role in Role::ALL {
        let validator = Validator::new(role);
        match validator.validate(data, &Context::default()) {
            Ok(valid) => {
                let again = validator
                    .validate(&valid.message.to_json(), &Context::default())
                    .expect("a valid message must validate again after serialisation");
                assert_eq!(again.message, valid.message);
            }
            Err(erro) => {
                let back = Validator::new(Role::DirectoryServer)
                    .validate(&erro.to_json(), &Context::default())
                    .expect("the Erro sent must itself be valid");
                assert!(matches!(back.message, Message::Erro(_)));
            }
        }
    }
});
