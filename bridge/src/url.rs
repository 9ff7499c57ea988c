//! The URL the transport opens: the configured one plus `token=<percent-encoded>`.

use crate::options::ConfigError;

/// Percent-encodes everything except the RFC 3986 unreserved characters
/// (`A-Z a-z 0-9 - . _ ~`), byte by byte of the UTF-8 encoding.
pub fn percent_encode(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xF)]));
        }
    }
    out
}

/// Checks the scheme (`ws://` or `wss://`, case-insensitive) and the absence of a
/// fragment, then appends `token=` with `?` or `&` as the URL needs.
pub fn build_url(base: &str, token: Option<&str>) -> Result<String, ConfigError> {
    let lower = base.get(..6).unwrap_or(base).to_ascii_lowercase();
    let rest = if lower.starts_with("wss://") {
        &base[6..]
    } else if lower.starts_with("ws://") {
        &base[5..]
    } else {
        return Err(ConfigError::InvalidUrl { reason: "the scheme must be ws:// or wss://" });
    };
    if rest.is_empty() || rest.starts_with('/') {
        return Err(ConfigError::InvalidUrl { reason: "no host after the scheme" });
    }
    if base.contains('#') {
        return Err(ConfigError::InvalidUrl {
            reason: "a WebSocket URL cannot have a fragment ('#')",
        });
    }
    let Some(token) = token else { return Ok(base.to_owned()) };
    let sep = if !base.contains('?') {
        "?"
    } else if base.ends_with('?') || base.ends_with('&') {
        ""
    } else {
        "&"
    };
    Ok(format!("{base}{sep}token={}", percent_encode(token)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_reserved_and_non_ascii() {
        assert_eq!(percent_encode("abc-._~XYZ019"), "abc-._~XYZ019");
        assert_eq!(percent_encode("a b&c=d/é?#+%"), "a%20b%26c%3Dd%2F%C3%A9%3F%23%2B%25");
        assert_eq!(percent_encode(""), "");
    }

    #[test]
    fn token_goes_in_the_query() {
        assert_eq!(build_url("ws://h:1/ws", None).unwrap(), "ws://h:1/ws");
        assert_eq!(build_url("ws://h:1/ws", Some("s3cr=t")).unwrap(), "ws://h:1/ws?token=s3cr%3Dt");
        assert_eq!(build_url("wss://h/ws?x=1", Some("t")).unwrap(), "wss://h/ws?x=1&token=t");
        assert_eq!(build_url("WSS://h/ws?", Some("t")).unwrap(), "WSS://h/ws?token=t");
    }

    #[test]
    fn bad_urls_are_refused_with_a_reason() {
        for (url, word) in [
            ("http://h/ws", "scheme"),
            ("h/ws", "scheme"),
            ("ws://", "host"),
            ("ws:///x", "host"),
            ("ws://h/ws#frag", "fragment"),
            ("", "scheme"),
            ("wé", "scheme"),
        ] {
            let e = build_url(url, None).unwrap_err().to_string();
            assert!(e.contains(word), "{url}: {e}");
        }
    }
}
