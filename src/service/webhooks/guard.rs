//! Where webhooks may connect. Checked when sending, not only when a URL is
//! saved: the client resolves every host through [`GuardedResolver`], which
//! refuses a host if *any* address it resolves to is loopback, private,
//! link-local (cloud metadata included), unspecified, shared, multicast or
//! reserved — IPv4-mapped and IPv4-compatible IPv6 forms judged as the IPv4
//! address inside — unless the allow-list names it. The connection then goes
//! to exactly the addresses that were checked, so DNS cannot answer
//! differently between check and connect. Hosts written as IP literals skip
//! DNS and are checked by [`check_url`]; redirects are never followed.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;
use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// The networks the settings allow despite being private.
#[derive(Clone, Debug, Default)]
pub struct AllowList(Vec<IpNet>);

impl AllowList {
    /// Parses a comma-separated list of CIDR blocks or single addresses.
    ///
    /// # Errors
    /// The first entry that is neither.
    pub fn parse(raw: &str) -> Result<Self, String> {
        raw.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{s:?} is not an address or CIDR block"))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    fn allows(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// Whether the list itself names `ip` (not merely that it is public).
    pub fn names(&self, ip: IpAddr) -> bool {
        self.allows(canonical(ip))
    }

    /// Whether webhooks may connect to `ip`.
    pub fn permits(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.allows(ip) || is_public(ip)
    }
}

/// An IPv6 address that carries an IPv4 one (`::ffff:a.b.c.d`, `::a.b.c.d`)
/// as that IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                if s[..6] == [0; 6] && !v6.is_unspecified() && !v6.is_loopback() {
                    IpAddr::V4(Ipv4Addr::new(
                        (s[6] >> 8) as u8,
                        s[6] as u8,
                        (s[7] >> 8) as u8,
                        s[7] as u8,
                    ))
                } else {
                    ip
                }
            }
        },
        IpAddr::V4(_) => ip,
    }
}

fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && v4.octets()[2] == 0)
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first & 0xffc0) == 0xfec0
                || v6.segments()[..2] == [0x2001, 0x0db8]
                || v6.segments()[..2] == [0x0064, 0xff9b])
        }
    }
}

/// Checks a URL before sending: scheme, and an IP-literal host.
///
/// # Errors
/// Why the URL may not be called.
pub fn check_url(url: &Url, allow: &AllowList) -> Result<(), String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err("only http and https URLs are called".into());
    }
    match url.host() {
        None => Err("the URL has no host".into()),
        Some(url::Host::Ipv4(v4)) => literal(IpAddr::V4(v4), allow),
        Some(url::Host::Ipv6(v6)) => literal(IpAddr::V6(v6), allow),
        Some(url::Host::Domain(_)) => Ok(()),
    }
}

fn literal(ip: IpAddr, allow: &AllowList) -> Result<(), String> {
    if allow.permits(ip) {
        Ok(())
    } else {
        Err(format!("{ip} is not a public address"))
    }
}

/// How long a host may take to resolve.
const LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// The DNS resolver of the webhook client: the system's, with every answer
/// checked.
pub struct GuardedResolver(pub Arc<AllowList>);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.0.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let lookup = tokio::net::lookup_host((host.as_str(), 0));
            let addrs: Vec<SocketAddr> = tokio::time::timeout(LOOKUP_TIMEOUT, lookup)
                .await
                .map_err(|_| format!("{host} did not resolve within {} s", LOOKUP_TIMEOUT.as_secs()))??
                .collect();
            if addrs.is_empty() {
                return Err(format!("{host} has no address").into());
            }
            if let Some(bad) = addrs.iter().find(|a| !allow.permits(a.ip())) {
                return Err(format!("{host} resolves to {}, which is not a public address", bad.ip()).into());
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn private_and_special_addresses_are_refused_in_every_form() {
        let none = AllowList::default();
        for bad in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::10.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(!none.permits(ip(bad)), "{bad}");
        }
        for good in [
            "93.184.216.34",
            "2606:2800:220:1:248:1893:25c8:1946",
            "::ffff:93.184.216.34",
        ] {
            assert!(none.permits(ip(good)), "{good}");
        }
    }

    #[test]
    fn the_allow_list_opens_only_what_it_names() {
        let allow = AllowList::parse("127.0.0.1, 10.1.0.0/16").unwrap();
        assert!(allow.permits(ip("127.0.0.1")));
        assert!(allow.permits(ip("::ffff:127.0.0.1")));
        assert!(allow.permits(ip("10.1.2.3")));
        assert!(!allow.permits(ip("127.0.0.2")));
        assert!(!allow.permits(ip("10.2.0.1")));
        assert!(AllowList::parse("nope").is_err());
    }

    #[test]
    fn urls_are_checked_by_scheme_and_literal_host() {
        let none = AllowList::default();
        let check = |u: &str| check_url(&Url::parse(u).unwrap(), &none);
        assert!(check("https://hooks.example.com/x").is_ok());
        assert!(check("ftp://hooks.example.com/x").is_err());
        assert!(check("http://127.0.0.1:8080/").is_err());
        assert!(check("http://[::ffff:10.0.0.1]/").is_err());
        assert!(check("http://[::1]/").is_err());
    }
}
