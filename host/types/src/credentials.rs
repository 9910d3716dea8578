//! How a feed is fetched with credentials: the names of the environment variables that hold
//! them, never the secrets. One shape from the supplier file through the harvest plan to the
//! download step, which alone reads the variables (and only those the operator allowed).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Credentials {
    #[default]
    None,
    /// `Authorization: Bearer $token_env`.
    Bearer { token_env: String },
    /// HTTP basic authentication from two variables.
    Basic {
        user_env: String,
        password_env: String,
    },
}

impl Credentials {
    /// The environment variables these credentials read.
    pub fn env_vars(&self) -> Vec<&str> {
        match self {
            Self::None => vec![],
            Self::Bearer { token_env } => vec![token_env],
            Self::Basic {
                user_env,
                password_env,
            } => vec![user_env, password_env],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_form_is_tagged_by_kind() {
        let basic = Credentials::Basic {
            user_env: "U".into(),
            password_env: "P".into(),
        };
        let json = serde_json::to_value(&basic).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({"kind": "basic", "user_env": "U", "password_env": "P"})
        );
        let none: Credentials =
            serde_json::from_value(serde_json::json!({"kind": "none"})).expect("deserialises");
        assert_eq!(none, Credentials::None);
        assert_eq!(basic.env_vars(), ["U", "P"]);
    }
}
