use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::Signer as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::*;

const SECRET: &[u8] = b"a-secret-of-at-least-thirty-two-bytes";

fn claims(exp: Option<f64>) -> Claims {
    Claims::new("t1", &[EXECUTE], &["acme", "beta"], exp)
}

fn verifier(allow_unsigned: bool) -> Verifier {
    let mut keys = HashMap::new();
    keys.insert("svc.v1".to_owned(), Key::Hmac(SECRET.to_vec()));
    Verifier::new(keys, allow_unsigned)
}

const NOW: f64 = 1e9;
const HOUR_LATER: Option<f64> = Some(NOW + 3600.0);

#[test]
fn hmac_tokens_verify_and_a_dotted_kid_splits_at_the_last_two_dots() {
    let token = mint_hmac("svc.v1", SECRET, &claims(HOUR_LATER));
    let c = verifier(false).verify(&token, NOW).expect("valid");
    assert_eq!(c.token_id, "t1");
    assert_eq!(c.tenant(None).expect("first"), "acme");
    assert_eq!(c.tenant(Some("beta")).expect("allowed"), "beta");
    assert_eq!(
        c.tenant(Some("gamma")),
        Err(AuthError::TenantDenied("gamma".into()))
    );
    assert!(c.require(EXECUTE).is_ok());
    assert_eq!(c.require(READ), Err(AuthError::PermissionDenied(READ)));
}

#[test]
fn bad_tokens_are_refused_with_their_reason() {
    let v = verifier(false);
    let good = mint_hmac("svc.v1", SECRET, &claims(HOUR_LATER));
    let wrong = mint_hmac(
        "svc.v1",
        b"another-secret-of-thirty-two-bytes!",
        &claims(HOUR_LATER),
    );
    let expired = mint_hmac("svc.v1", SECRET, &claims(Some(10.0)));
    let unknown = mint_hmac("nope", SECRET, &claims(HOUR_LATER));
    assert!(v.verify(&good, NOW).is_ok());
    assert_eq!(v.verify(&wrong, NOW), Err(AuthError::BadSignature));
    assert_eq!(v.verify(&expired, NOW), Err(AuthError::Expired));
    assert_eq!(
        v.verify(&unknown, NOW),
        Err(AuthError::UnknownKey("nope".into()))
    );
    assert!(matches!(
        v.verify("garbage", NOW),
        Err(AuthError::Malformed(_))
    ));
    // Tampering with the payload breaks the signature even if it is valid base64 JSON.
    let (kid_payload, sig) = good.rsplit_once('.').expect("dots");
    let (kid, _) = kid_payload.rsplit_once('.').expect("dots");
    let mut c = claims(HOUR_LATER);
    c.allowed_tenants = vec!["*".into()];
    let forged = format!(
        "{kid}.{}.{sig}",
        STANDARD.encode(serde_json::to_vec(&c).expect("json"))
    );
    assert_eq!(v.verify(&forged, NOW), Err(AuthError::BadSignature));
}

#[test]
fn validity_needs_an_expiry_within_the_lifetime_and_no_future_issue_time() {
    let v = verifier(false).with_max_lifetime(7200);
    let mint = |c: &Claims| mint_hmac("svc.v1", SECRET, c);
    assert_eq!(
        v.verify(&mint(&claims(None)), NOW),
        Err(AuthError::NoExpiry)
    );
    assert!(matches!(
        v.verify(&mint(&claims(Some(NOW + 30.0 * 86400.0))), NOW),
        Err(AuthError::LifetimeTooLong(..))
    ));
    let mut c = claims(HOUR_LATER);
    c.iat = Some(NOW - 86_400.0);
    // Issued a day ago, valid for 25 hours in all: over the 2-hour cap.
    c.exp_unix = Some(NOW + 3600.0);
    assert!(matches!(
        v.verify(&mint(&c), NOW),
        Err(AuthError::LifetimeTooLong(..))
    ));
    let mut c = claims(HOUR_LATER);
    c.iat = Some(NOW + 3600.0);
    assert_eq!(v.verify(&mint(&c), NOW), Err(AuthError::NotYetValid));
    let mut c = claims(HOUR_LATER);
    c.nbf = Some(NOW + 30.0);
    assert!(v.verify(&mint(&c), NOW).is_ok(), "within the clock skew");
    c.nbf = Some(NOW + 600.0);
    assert_eq!(v.verify(&mint(&c), NOW), Err(AuthError::NotYetValid));
    // A NaN expiry must not read as "never expires".
    let text = r#"{"token_id":"t","permissions":["*"],"allowed_tenants":["a"],"exp_unix":1e999}"#;
    let token = {
        let payload = STANDARD.encode(text.as_bytes());
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET).expect("key");
        mac.update(payload.as_bytes());
        format!(
            "svc.v1.{payload}.{}",
            STANDARD.encode(mac.finalize().into_bytes())
        )
    };
    assert!(v.verify(&token, NOW).is_err());
}

#[test]
fn short_hmac_secrets_are_refused_and_admin_is_never_a_wildcard() {
    assert_eq!(
        Key::hmac(b"secret".to_vec()).err(),
        Some(KeyError::ShortSecret(6))
    );
    assert!(Key::hmac(SECRET.to_vec()).is_ok());
    let mut c = claims(HOUR_LATER);
    c.permissions = vec!["*".into(), "worker:*".into()];
    assert!(c.require(EXECUTE).is_ok() && c.require(READ).is_ok());
    assert!(!c.is_admin());
    c.permissions.push(ADMIN.into());
    assert!(c.is_admin());
    assert!(!c.allows_tenant(""), "the empty tenant is nobody's");
}

#[test]
fn unsigned_tokens_only_in_development_mode() {
    let token = mint_unsigned(&claims(HOUR_LATER));
    assert_eq!(
        verifier(false).verify(&token, NOW),
        Err(AuthError::UnsignedRefused)
    );
    assert!(verifier(true).verify(&token, NOW).is_ok());
}

#[test]
fn ed25519_tokens_verify_over_the_payload_text() {
    let signing = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let payload = STANDARD.encode(serde_json::to_vec(&claims(HOUR_LATER)).expect("json"));
    let sig = STANDARD.encode(signing.sign(payload.as_bytes()).to_bytes());
    let mut keys = HashMap::new();
    keys.insert("ed".to_owned(), Key::Ed25519(signing.verifying_key()));
    let v = Verifier::new(keys, false);
    assert!(v.verify(&format!("ed.{payload}.{sig}"), NOW).is_ok());
    let other = STANDARD.encode([0u8; 64]);
    assert_eq!(
        v.verify(&format!("ed.{payload}.{other}"), NOW),
        Err(AuthError::BadSignature)
    );
}

#[test]
fn keys_are_read_from_the_environment_and_from_base64_with_typed_errors() {
    let var = "CONTEXTWORKER_AUTH_TEST_SECRET_UNSET_0xA1";
    assert_eq!(
        Key::hmac_from_env(var).expect_err("unset").to_string(),
        format!("environment variable {var} is not set")
    );
    assert_eq!(
        Key::ed25519_base64("bm90IGEga2V5").expect_err("short"),
        KeyError::NotEd25519Base64
    );
    assert_eq!(
        Key::ed25519_base64("***").expect_err("not base64"),
        KeyError::NotEd25519Base64
    );
    let signing = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let public = STANDARD.encode(signing.verifying_key().to_bytes());
    assert!(matches!(
        Key::ed25519_base64(&public).expect("a real key"),
        Key::Ed25519(k) if k == signing.verifying_key()
    ));
}
