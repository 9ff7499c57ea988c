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

/// Checks that `base` is an absolute `ws://` / `wss://` URL the browser's `WebSocket`
/// constructor takes and can reach, then appends `token=` with `?` or `&` as the URL
/// needs. Refused, with [`ConfigError::InvalidUrl`] (code `INVALID_URL`):
/// - another scheme (`http://`, `https://`), a relative or empty URL, or no `//`;
/// - whitespace or control characters anywhere, and a backslash in the host part;
/// - an empty host, an IPv6 host whose `[` is not closed or that is not an IPv6
///   address, a host with a character URLs forbid in hosts (`<>^|%[]` ...), a
///   numeric host that is not a valid IPv4 address (`999.1.1.1`);
/// - a port that is not a number up to 65535;
/// - a fragment (`#`).
///
/// The reason never repeats the URL (it may carry a token).
pub fn build_url(base: &str, token: Option<&str>) -> Result<String, ConfigError> {
    check_url(base).map_err(|reason| ConfigError::InvalidUrl { reason })?;
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

fn check_url(base: &str) -> Result<(), &'static str> {
    if base.is_empty() {
        return Err("the URL is empty");
    }
    if base.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("the URL contains whitespace or control characters");
    }
    let lower = base.get(..6).unwrap_or(base).to_ascii_lowercase();
    let rest = if lower.starts_with("wss://") {
        base.get(6..).unwrap_or("")
    } else if lower.starts_with("ws://") {
        base.get(5..).unwrap_or("")
    } else {
        return Err("the scheme must be ws:// or wss:// (an absolute WebSocket URL)");
    };
    if base.contains('#') {
        return Err("a WebSocket URL cannot have a fragment ('#')");
    }
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    if authority.contains('\\') {
        return Err("a backslash in the host part");
    }
    // userinfo@host:port (the last '@' ends the userinfo).
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        let Some((addr, after)) = v6.split_once(']') else {
            return Err("the IPv6 host has no closing ']'");
        };
        if !is_ipv6(addr) {
            return Err("the host in [...] is not an IPv6 address");
        }
        match after {
            "" => ("[v6]", None),
            p => match p.strip_prefix(':') {
                Some(port) => ("[v6]", Some(port)),
                None => return Err("characters after the IPv6 host's ']'"),
            },
        }
    } else {
        match host_port.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        }
    };
    if host.is_empty() {
        return Err("no host after the scheme");
    }
    if host != "[v6]" {
        const FORBIDDEN: &[char] = &['#', '%', '/', ':', '<', '>', '?', '@', '[', '\\', ']', '^', '|'];
        if host.contains(FORBIDDEN) || host.contains('\u{7f}') {
            return Err("the host contains a character not allowed in hosts");
        }
        check_ipv4(host)?;
    }
    if let Some(port) = port {
        let ok = port.is_empty() || (port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u64>().is_ok_and(|p| p <= 65535));
        if !ok {
            return Err("the port is not a number in [0, 65535]");
        }
    }
    Ok(())
}

/// The WHATWG URL rule: a host whose last label is a number is an IPv4 address
/// (decimal, `0x` hex or leading-`0` octal parts, 1 to 4 of them), and must be valid.
/// An IPv6 address as RFC 4291 writes it: eight groups of 1-4 hex digits, one `::` for
/// a run of zero groups, the last 32 bits optionally as a dotted IPv4 quad (what
/// `std::net::Ipv6Addr` parses, without its ~1 KB of generic parser in the module).
fn is_ipv6(addr: &str) -> bool {
    // `::` found by hand: a `&str` pattern brings std's two-way searcher (~1 KB).
    let double = |s: &str| s.as_bytes().windows(2).position(|w| w == b"::");
    let (head, tail, compressed) = match double(addr) {
        Some(i) => (addr.get(..i).unwrap_or(""), addr.get(i + 2..).unwrap_or(""), true),
        None => (addr, "", false),
    };
    if double(tail).is_some() {
        return false;
    }
    let mut groups = 0;
    for (side, text) in [(0, head), (1, tail)] {
        if text.is_empty() {
            continue;
        }
        let parts: Vec<&str> = text.split(':').collect();
        for (i, p) in parts.iter().enumerate() {
            let last = i + 1 == parts.len() && (side == 1 || !compressed);
            if last && p.contains('.') {
                let quad: Vec<&str> = p.split('.').collect();
                let octet = |o: &&str| {
                    !o.is_empty() && o.len() <= 3 && o.bytes().all(|b| b.is_ascii_digit()) && !(o.len() > 1 && o.starts_with('0'))
                        && o.parse::<u64>().is_ok_and(|n| n <= 255)
                };
                if quad.len() != 4 || !quad.iter().all(octet) {
                    return false;
                }
                groups += 2;
            } else if p.is_empty() || p.len() > 4 || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
                return false;
            } else {
                groups += 1;
            }
        }
    }
    if compressed { groups <= 7 } else { groups == 8 }
}

fn check_ipv4(host: &str) -> Result<(), &'static str> {
    const BAD: &str = "the numeric host is not a valid IPv4 address";
    let mut parts: Vec<&str> = host.split('.').collect();
    if parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    let number = |p: &str| -> Option<u64> {
        let (digits, radix) = if let Some(h) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
            (h, 16)
        } else if p.len() > 1 && p.starts_with('0') {
            (p.get(1..).unwrap_or(""), 8)
        } else {
            (p, 10)
        };
        if digits.is_empty() {
            return (radix == 16).then_some(0);
        }
        // Long runs of digits are out of range anyway; avoid overflow.
        if digits.len() > 12 {
            return Some(u64::MAX);
        }
        u64::from_str_radix(digits, radix).ok()
    };
    let last = parts.last().copied().unwrap_or("");
    let ends_in_number = !last.is_empty()
        && (last.bytes().all(|b| b.is_ascii_digit()) || number(last).is_some() && last.starts_with("0x"));
    if !ends_in_number {
        return Ok(());
    }
    if parts.len() > 4 {
        return Err(BAD);
    }
    let mut nums = Vec::with_capacity(parts.len());
    for p in &parts {
        nums.push(number(p).ok_or(BAD)?);
    }
    let (last, init) = nums.split_last().ok_or(BAD)?;
    if init.iter().any(|&n| n > 255) {
        return Err(BAD);
    }
    if *last >= 256u64.pow(5 - nums.len() as u32) {
        return Err(BAD);
    }
    Ok(())
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
            ("", "empty"),
            ("wé", "scheme"),
            ("ws://[::1", "IPv6"),
            ("ws://[::1/ws", "IPv6"),
            ("ws://[zz]/ws", "IPv6"),
            ("ws://[::1]x/ws", "IPv6"),
            ("http://x", "scheme"),
            ("https://x/ws", "scheme"),
            ("/ws", "scheme"),
            ("//h/ws", "scheme"),
            ("ws:h", "scheme"),
            ("ws://h:99999/ws", "port"),
            ("ws://h:8x/ws", "port"),
            ("ws://h:-1", "port"),
            ("ws://a b/ws", "whitespace"),
            (" ws://h/ws", "whitespace"),
            ("ws://h/ws\n", "whitespace"),
            ("ws://h^/ws", "host"),
            ("ws://h%41/ws", "host"),
            ("ws://h\\x/ws", "backslash"),
            ("ws://999.1.1.1/ws", "IPv4"),
            ("ws://1.2.3.4.5/ws", "IPv4"),
            ("ws://1.2.3.256/ws", "IPv4"),
            ("ws://v1.2/ws", "IPv4"),
            ("ws://user@/ws", "host"),
            ("ws://:80/ws", "host"),
        ] {
            let e = build_url(url, None).unwrap_err();
            assert_eq!(e.code(), "INVALID_URL", "{url}");
            let e = e.to_string();
            assert!(e.contains(word), "{url}: {e}");
        }
    }

    #[test]
    fn ipv6_hosts_as_std_parses_them() {
        for a in [
            "::", "::1", "1::", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "1::8", "fe80::1:2", "::ffff:127.0.0.1",
            "1:2:3:4:5:6:1.2.3.4", "::1.2.3.4", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", ":1", "1:", ":::", "1:::2", "1::2::3", "12345::",
            "g::", "::1.2.3", "::1.2.3.256", "::01.2.3.4", "1.2.3.4", "::1.2.3.4:5", "1:2:3:4:5:6:7:1.2.3.4", "", "::ffff:1.2.3.4.5",
            "1:2:3:4:5:6:7::8", "0:0:0:0:0:0:0:0", "ABCD::ef", "::1:2:3:4:5:6:7",
        ] {
            assert_eq!(is_ipv6(a), a.parse::<std::net::Ipv6Addr>().is_ok(), "{a:?}");
        }
    }

    #[test]
    fn urls_the_browser_takes_are_accepted() {
        for url in [
            "ws://127.0.0.1:8080/ws",
            "ws://[::1]:8080/ws",
            "ws://[::1]/ws",
            "ws://[::ffff:127.0.0.1]/",
            "wss://example.com",
            "wss://example.com/",
            "ws://h:/ws",
            "ws://user:pw@h:1/ws?x=1&y",
            "ws://localhost?x",
            "ws://127.1/ws",
            "ws://0x7f.1/ws",
            "ws://1.2.3.4./ws",
            "ws://my-host.local:65535/a/b",
            "ws://bücher.example/ws",
        ] {
            assert_eq!(build_url(url, None).as_deref(), Ok(url), "{url}");
        }
    }

    #[test]
    fn the_reason_never_repeats_the_url() {
        let e = build_url("ws://[::1/secret-token-here", None).unwrap_err().to_string();
        assert!(!e.contains("secret"), "{e}");
    }
}
