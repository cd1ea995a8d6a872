//! Plugin signatures: ed25519 over the component and its manifest, checked against keys the operator pins.
//!
//! The signed message covers both files, because the manifest carries the grants: a signature over the
//! component alone would let anyone widen a signed plugin's access by editing its manifest. A signature file
//! (`<name>.sig`, beside the other two) names the signer's public key, so a refusal can say whether the key is
//! unknown or the files were changed after signing.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};

/// What the signature file starts with; the version lets the format change without ambiguity.
const SIGNATURE_HEADER: &str = "fastintercom-plugin-signature-v1";

/// The operator's choice: which keys are trusted, and whether an unsigned plugin may run.
#[derive(Debug, Clone, Default)]
pub struct TrustPolicy {
    pub require_signatures: bool,
    pub trusted_keys: Vec<VerifyingKey>,
}

/// Why a plugin's signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    #[error("it is not signed, and this server only runs signed plugins (add a .sig with `fastintercom plugins sign`)")]
    Unsigned,
    #[error("its signature file is malformed: {0}")]
    Malformed(String),
    #[error("it is signed by key {0}, which the operator does not trust")]
    UnknownKey(String),
    #[error("its signature does not match its files: the component or manifest changed after signing")]
    Mismatch,
}

impl TrustPolicy {
    /// Parses pinned public keys (base64 of the 32-byte ed25519 key, as `plugins keygen` prints it).
    pub fn new(require_signatures: bool, keys: &[String]) -> Result<Self, String> {
        let trusted_keys = keys.iter().map(|key| parse_public_key(key)).collect::<Result<Vec<_>, _>>()?;
        if require_signatures && trusted_keys.is_empty() {
            return Err("require_signatures is on but no trusted_keys are configured".to_owned());
        }
        Ok(Self { require_signatures, trusted_keys })
    }

    /// Checks a plugin's signature (`signature` is the `.sig` file's text, if there is one). `Ok(Some(key))`:
    /// signed by `key`, which is trusted. `Ok(None)`: not verified, which is allowed only while signatures are not
    /// required.
    pub fn check(&self, wasm: &[u8], manifest: &str, signature: Option<&str>) -> Result<Option<String>, TrustError> {
        let verdict = match signature {
            None => Err(TrustError::Unsigned),
            Some(text) => self.verify(wasm, manifest, text),
        };
        match verdict {
            Ok(key) => Ok(Some(encode_public_key(&key))),
            Err(error) if self.require_signatures => Err(error),
            Err(TrustError::Unsigned) => Ok(None),
            Err(error) => {
                tracing::warn!(%error, "plugin signature not verified; loading it because signatures are not required");
                Ok(None)
            }
        }
    }

    /// Whether a version signed by `signer` (base64 public key; `None`: unsigned) may still be served under this
    /// policy: the test a served version must pass when its files can no longer be read.
    pub fn still_trusts(&self, signer: Option<&str>) -> bool {
        !self.require_signatures
            || signer.and_then(|key| parse_public_key(key).ok()).is_some_and(|key| self.trusted_keys.contains(&key))
    }

    fn verify(&self, wasm: &[u8], manifest: &str, text: &str) -> Result<VerifyingKey, TrustError> {
        let (key, signature) = parse_signature_file(text)?;
        if !self.trusted_keys.contains(&key) {
            return Err(TrustError::UnknownKey(BASE64.encode(key.as_bytes())));
        }
        key.verify(&signed_message(wasm, manifest), &signature).map_err(|_| TrustError::Mismatch)?;
        Ok(key)
    }
}

/// What is signed: a domain-separation header and the sha256 of each file.
fn signed_message(wasm: &[u8], manifest: &str) -> Vec<u8> {
    format!(
        "{SIGNATURE_HEADER}\ncomponent sha256 {}\nmanifest sha256 {}\n",
        hex::encode(Sha256::digest(wasm)),
        hex::encode(Sha256::digest(manifest.as_bytes()))
    )
    .into_bytes()
}

/// Signs a plugin's files; returns the text of its `.sig` file.
pub fn sign(key: &SigningKey, wasm: &[u8], manifest: &str) -> String {
    let signature = key.sign(&signed_message(wasm, manifest));
    format!(
        "{SIGNATURE_HEADER}\nkey {}\nsignature {}\n",
        BASE64.encode(key.verifying_key().as_bytes()),
        BASE64.encode(signature.to_bytes())
    )
}

/// A new signing key from the operating system's randomness.
pub fn generate_key() -> SigningKey {
    use rand::TryRngCore as _;
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.try_fill_bytes(&mut seed).expect("the operating system's random source failed");
    SigningKey::from_bytes(&seed)
}

/// The text of a secret key file (base64 of the 32-byte seed).
pub fn encode_secret_key(key: &SigningKey) -> String {
    format!("{}\n", BASE64.encode(key.to_bytes()))
}

pub fn encode_public_key(key: &VerifyingKey) -> String {
    BASE64.encode(key.as_bytes())
}

pub fn parse_secret_key(text: &str) -> Result<SigningKey, String> {
    let bytes = BASE64.decode(text.trim()).map_err(|_| "the key file is not base64".to_owned())?;
    let seed: [u8; 32] = bytes.try_into().map_err(|_| "the key file does not hold a 32-byte ed25519 key".to_owned())?;
    Ok(SigningKey::from_bytes(&seed))
}

pub fn parse_public_key(text: &str) -> Result<VerifyingKey, String> {
    let shown: String = text.chars().take(60).collect();
    let bytes = BASE64.decode(text.trim()).map_err(|_| format!("public key {shown:?} is not base64"))?;
    let bytes: [u8; 32] = bytes.try_into().map_err(|_| format!("public key {shown:?} is not 32 bytes"))?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| format!("public key {shown:?} is not a valid ed25519 key"))
}

fn parse_signature_file(text: &str) -> Result<(VerifyingKey, Signature), TrustError> {
    let malformed = |what: &str| TrustError::Malformed(what.to_owned());
    let mut lines = text.lines();
    if lines.next() != Some(SIGNATURE_HEADER) {
        return Err(malformed("it does not start with the signature header"));
    }
    let key = lines.next().and_then(|line| line.strip_prefix("key ")).ok_or_else(|| malformed("no key line"))?;
    // Not `parse_public_key`'s message, which quotes the text: refusals reach clients and quote no file.
    let key = parse_public_key(key).map_err(|_| malformed("its key is not a base64 ed25519 public key"))?;
    let signature =
        lines.next().and_then(|line| line.strip_prefix("signature ")).ok_or_else(|| malformed("no signature line"))?;
    let bytes = BASE64.decode(signature.trim()).map_err(|_| malformed("the signature is not base64"))?;
    let bytes: [u8; 64] = bytes.try_into().map_err(|_| malformed("the signature is not 64 bytes"))?;
    Ok((key, Signature::from_bytes(&bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const WASM: &[u8] = b"\0asm component bytes";
    const MANIFEST: &str = "name = \"p\"\nversion = \"1\"\n";

    fn policy(require: bool, keys: &[&SigningKey]) -> TrustPolicy {
        let keys: Vec<String> = keys.iter().map(|k| encode_public_key(&k.verifying_key())).collect();
        TrustPolicy::new(require, &keys).unwrap()
    }

    #[test]
    fn a_good_signature_verifies_and_every_kind_of_bad_one_is_refused_when_required() {
        let author = generate_key();
        let stranger = generate_key();
        let signature = sign(&author, WASM, MANIFEST);
        let required = policy(true, &[&author]);
        let author_key = encode_public_key(&author.verifying_key());
        assert_eq!(required.check(WASM, MANIFEST, Some(&signature)), Ok(Some(author_key.clone())));
        assert!(required.still_trusts(Some(&author_key)) && !required.still_trusts(None));
        assert_eq!(required.check(WASM, MANIFEST, None), Err(TrustError::Unsigned));
        assert_eq!(required.check(b"\0asm other bytes", MANIFEST, Some(&signature)), Err(TrustError::Mismatch));
        let widened = format!("{MANIFEST}grants = [\"contacts\"]\n");
        assert_eq!(required.check(WASM, &widened, Some(&signature)), Err(TrustError::Mismatch), "grants are signed");
        let by_stranger = sign(&stranger, WASM, MANIFEST);
        assert!(matches!(required.check(WASM, MANIFEST, Some(&by_stranger)), Err(TrustError::UnknownKey(_))));
        assert!(matches!(required.check(WASM, MANIFEST, Some("garbage")), Err(TrustError::Malformed(_))));
    }

    #[test]
    fn without_the_requirement_nothing_is_refused_but_only_trusted_signatures_count() {
        let author = generate_key();
        let relaxed = policy(false, &[&author]);
        assert_eq!(relaxed.check(WASM, MANIFEST, None), Ok(None));
        assert!(relaxed.check(WASM, MANIFEST, Some(&sign(&author, WASM, MANIFEST))).unwrap().is_some());
        assert_eq!(relaxed.check(WASM, MANIFEST, Some(&sign(&generate_key(), WASM, MANIFEST))), Ok(None));
        assert!(relaxed.still_trusts(None), "nothing is required");
    }

    #[test]
    fn keys_round_trip_and_a_requirement_without_keys_is_a_configuration_error() {
        let key = generate_key();
        assert_eq!(parse_secret_key(&encode_secret_key(&key)).unwrap().to_bytes(), key.to_bytes());
        assert_eq!(parse_public_key(&encode_public_key(&key.verifying_key())).unwrap(), key.verifying_key());
        assert!(TrustPolicy::new(true, &[]).is_err());
        assert!(TrustPolicy::new(false, &["not a key".to_owned()]).is_err());
    }
}
