//! `stack hash`: a bind password hashed the way yaLDAP reads it, so a stack's
//! `!!ldap/bind:password` placeholders can be filled without htpasswd or the
//! yaLDAP binary at hand.
//!
//! yaLDAP v0.2.0 verifies a bcrypt bind password in the PHC form its
//! `tools hash bcrypt` prints (pkg/cmd/tool.go; phc-crypto v1.2.0
//! bcrypt/bcrypt.go, format/format.go): `$bcrypt$v=0$r=COST$$HEX`, where HEX is
//! the hex of the whole modular-crypt string Go's bcrypt makes (`$2a$COST$…`)
//! and the salt field is empty. Verification hex-decodes HEX and hands it to
//! golang.org/x/crypto/bcrypt, which refuses a password over 72 bytes; so does
//! this (bcrypt would silently ignore the rest).

/// bcrypt's work factor when none is given: phc-crypto's default (`ROUNDS = 10`).
pub const DEFAULT_COST: u32 = 10;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("the password is empty (yaLDAP's phc-crypto refuses an empty one)")]
    Empty,
    #[error(
        "the password is {0} bytes; bcrypt reads at most 72 (golang.org/x/crypto/bcrypt refuses longer ones)"
    )]
    TooLong(usize),
    #[error("bcrypt cost {0} is outside 4..=31")]
    Cost(u32),
    #[error("bcrypt: {0}")]
    Bcrypt(#[from] bcrypt::BcryptError),
}

/// The PHC string yaLDAP verifies for `password`, with a random salt.
pub fn yaldap_bcrypt(password: &[u8], cost: u32) -> Result<String, HashError> {
    check(password, cost)?;
    let parts = bcrypt::hash_with_result(password, cost)?;
    Ok(phc(&parts, cost))
}

/// The plain modular-crypt bcrypt (`$2a$COST$…`), with a random salt: what AdGuard
/// Home's `users[].password` (and its chart's `passwordHash`) takes; Go's bcrypt
/// writes `$2a$` itself.
pub fn bcrypt_mcf(password: &[u8], cost: u32) -> Result<String, HashError> {
    check(password, cost)?;
    Ok(bcrypt::hash_with_result(password, cost)?.format_for_version(bcrypt::Version::TwoA))
}

/// [`yaldap_bcrypt`] with a given salt (known-answer tests).
pub fn yaldap_bcrypt_with_salt(password: &[u8], cost: u32, salt: [u8; 16]) -> Result<String, HashError> {
    check(password, cost)?;
    let parts = bcrypt::hash_with_salt(password, cost, salt)?;
    Ok(phc(&parts, cost))
}

/// Longer passwords are refused here, so the crate's truncation can only drop the
/// terminating NUL of a 72-byte one, as Go's key schedule does.
fn check(password: &[u8], cost: u32) -> Result<(), HashError> {
    if password.is_empty() {
        return Err(HashError::Empty);
    }
    if password.len() > 72 {
        return Err(HashError::TooLong(password.len()));
    }
    if !(4..=31).contains(&cost) {
        return Err(HashError::Cost(cost));
    }
    Ok(())
}

/// `$2a$`, the version Go's bcrypt writes (the one yaLDAP's own tool prints).
fn phc(parts: &bcrypt::HashParts, cost: u32) -> String {
    let mcf = parts.format_for_version(bcrypt::Version::TwoA);
    let hex: String = mcf.bytes().map(|b| format!("{b:02x}")).collect();
    format!("$bcrypt$v=0$r={cost}$${hex}")
}

/// The password a `stack hash` reads: the first line of `input` without its
/// line ending (a password may hold spaces; yaLDAP's own `-` reads one word).
pub fn first_line(input: &[u8]) -> &[u8] {
    let line = input.split(|b| *b == b'\n').next().unwrap_or_default();
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_form_verifies_and_refuses_what_the_phc_form_refuses() {
        let mcf = bcrypt_mcf(b"pass word", 4).unwrap();
        assert!(mcf.starts_with("$2a$04$"), "{mcf}");
        assert!(bcrypt::verify("pass word", &mcf).unwrap());
        assert!(!bcrypt::verify("pass", &mcf).unwrap());
        assert!(matches!(bcrypt_mcf(b"", 10), Err(HashError::Empty)));
        assert!(matches!(bcrypt_mcf(&[b'x'; 73], 10), Err(HashError::TooLong(73))));
    }

    fn unhex(hex: &str) -> String {
        let bytes: Vec<u8> =
            (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
        String::from_utf8(bytes).unwrap()
    }

    /// OpenBSD's vector (`U*U`, cost 5, salt `CCCCCCCCCCCCCCCCCCCCC.`), which glibc's
    /// libxcrypt `crypt(3)` reproduces: the salt below is those 22 characters decoded.
    #[test]
    fn a_known_answer_wrapped_as_phc_crypto_serializes_it() {
        let salt =
            [0x10, 0x41, 0x04, 0x10, 0x41, 0x04, 0x10, 0x41, 0x04, 0x10, 0x41, 0x04, 0x10, 0x41, 0x04, 0x10];
        let phc = yaldap_bcrypt_with_salt(b"U*U", 5, salt).unwrap();
        let hex = phc.strip_prefix("$bcrypt$v=0$r=5$$").unwrap();
        assert_eq!(unhex(hex), "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW");
    }

    #[test]
    fn a_random_salt_verifies_and_differs() {
        let a = yaldap_bcrypt(b"correct horse", 4).unwrap();
        let b = yaldap_bcrypt(b"correct horse", 4).unwrap();
        assert_ne!(a, b);
        let mcf = unhex(a.strip_prefix("$bcrypt$v=0$r=4$$").unwrap());
        assert!(mcf.starts_with("$2a$04$"), "{mcf}");
        assert!(bcrypt::verify("correct horse", &mcf).unwrap());
        assert!(!bcrypt::verify("correct horsE", &mcf).unwrap());
    }

    #[test]
    fn what_yaldap_would_refuse_is_refused() {
        assert!(matches!(yaldap_bcrypt(b"", 10), Err(HashError::Empty)));
        assert!(matches!(yaldap_bcrypt(&[b'x'; 73], 4), Err(HashError::TooLong(73))));
        assert!(yaldap_bcrypt(&[b'x'; 72], 4).is_ok());
        assert!(matches!(yaldap_bcrypt(b"x", 3), Err(HashError::Cost(3))));
        assert!(matches!(yaldap_bcrypt(b"x", 32), Err(HashError::Cost(32))));
    }

    #[test]
    fn the_password_is_the_first_line_spaces_kept() {
        assert_eq!(first_line(b"two words\n"), b"two words");
        assert_eq!(first_line(b"crlf\r\nsecond\n"), b"crlf");
        assert_eq!(first_line(b"no newline"), b"no newline");
        assert_eq!(first_line(b""), b"");
    }
}
