//! What a token says: who it is, what it may do, for which tenants, until when.

use serde::{Deserialize, Serialize};

use crate::{ADMIN, AuthError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub token_id: String,
    #[serde(default)]
    pub permissions: Vec<String>,
    #[serde(default)]
    pub allowed_tenants: Vec<String>,
    /// Seconds since the epoch. Required: a token without it is refused.
    #[serde(default)]
    pub exp_unix: Option<f64>,
    /// Issued at, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<f64>,
    /// Not valid before, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_id: Option<String>,
}

impl Claims {
    /// A token `token_id` granting `permissions` for `allowed_tenants` until `exp_unix`
    /// (seconds since the epoch), saying nothing else.
    pub fn new(
        token_id: impl Into<String>,
        permissions: &[&str],
        allowed_tenants: &[&str],
        exp_unix: Option<f64>,
    ) -> Self {
        let owned = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect();
        Self {
            token_id: token_id.into(),
            permissions: owned(permissions),
            allowed_tenants: owned(allowed_tenants),
            exp_unix,
            iat: None,
            nbf: None,
            user_id: None,
            agent_id: None,
            revocation_id: None,
        }
    }

    pub fn require(&self, permission: &'static str) -> Result<(), AuthError> {
        let family = permission.split(':').next().unwrap_or("");
        let wildcards_grant = permission != ADMIN;
        let granted = self.permissions.iter().any(|p| {
            p == permission
                || (wildcards_grant
                    && (p == "*" || p.strip_suffix(":*").is_some_and(|f| f == family)))
        });
        if granted {
            Ok(())
        } else {
            Err(AuthError::PermissionDenied(permission))
        }
    }

    pub fn is_admin(&self) -> bool {
        self.require(ADMIN).is_ok()
    }

    /// Whether the token may act for `tenant` (never for the empty tenant).
    pub fn allows_tenant(&self, tenant: &str) -> bool {
        !tenant.is_empty() && self.allowed_tenants.iter().any(|a| a == tenant || a == "*")
    }

    /// The tenant a request acts for: the one it names, if the token allows it, else the
    /// token's first tenant.
    pub fn tenant(&self, requested: Option<&str>) -> Result<String, AuthError> {
        match requested.filter(|t| !t.is_empty()) {
            Some(t) if self.allows_tenant(t) => Ok(t.to_owned()),
            Some(t) => Err(AuthError::TenantDenied(t.to_owned())),
            None => self
                .allowed_tenants
                .first()
                .filter(|t| t.as_str() != "*")
                .cloned()
                .ok_or_else(|| AuthError::TenantDenied(String::new())),
        }
    }
}
