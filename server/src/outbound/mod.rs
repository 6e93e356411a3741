//! The outbound HTTP clients, built at start-up with the outbound policy (a DNS resolver that
//! refuses non-public addresses after resolution; redirects checked hop by hop), connection
//! reuse and timeouts: a `reqwest::Client` for credential checks, webhooks and telemetry, and
//! a hyper client for proxied calls (the proxy's fast path: no request building or body
//! conversion per call; its redirects are followed by `service::forward` with
//! [`redirect_step`]). Plus the header policy lists. No credentials are handled here.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use bytes::Bytes;
use http_body_util::{Either, Full, combinators::BoxBody};
use hyper_util::{
    client::legacy::{
        Client as HyperClient,
        connect::{HttpConnector, dns::Name as HyperName},
    },
    rt::{TokioExecutor, TokioTimer},
};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::config::OutboundPolicy;

/// Headers that describe one hop of a connection, never forwarded in either direction.
pub const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-connection",
];

/// A destination refused by the outbound policy.
#[derive(Debug, thiserror::Error)]
#[error("destination {0} is not allowed by the outbound URL policy")]
pub struct Blocked(pub String);

/// Whether `ip` is loopback, private, link-local, unspecified, multicast, shared, documentation,
/// or a cloud metadata address: anything but the public internet.
pub fn is_forbidden_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local() // includes 169.254.169.254 (cloud metadata)
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1])) // shared address space (CGNAT)
                || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
                || (o[0] == 198 && (18..20).contains(&o[1])) // benchmarking
                || o[0] >= 240 // reserved
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_forbidden_ip(IpAddr::V4(v4));
            }
            // Decided range by range from IANA's IPv6 special-purpose address registry: refused
            // unless globally reachable; ranges that embed an IPv4 address are refused (or
            // judged by that address, for 6to4).
            let s = v6.segments();
            let v4_at =
                |hi: u16, lo: u16| std::net::Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || s[..6] == [0; 6] // ::/96, IPv4-compatible (deprecated): `[::127.0.0.1]`, `[::7f00:1]`
                || s[..6] == [0, 0, 0, 0, 0xffff, 0] // ::ffff:0:0:0/96, SIIT IPv4-translated
                || (s[0] == 0x64 && s[1] == 0xff9b) // 64:ff9b::/96 and 64:ff9b:1::/48, NAT64 reaches IPv4 space
                || (s[0] == 0x100 && s[1..4] == [0; 3]) // 100::/64, discard-only
                || (s[0] == 0x2001 && s[1] < 0x200 && !matches!(s[1], 0x3 | 0x4 | 0x20..=0x2f)) // 2001::/23 IETF protocol assignments (Teredo, benchmarking, ORCHID), except AMT, AS112, ORCHIDv2
                || (s[0] == 0x2001 && s[1] == 0xdb8) // documentation
                || (s[0] == 0x2002 && is_forbidden_ip(IpAddr::V4(v4_at(s[1], s[2])))) // 6to4 embedding a refused IPv4
                || (s[0] & 0xfff0) == 0x3ff0 // 3fff::/20, documentation
                || s[0] == 0x5f00 // 5f00::/16, SRv6 SIDs
                || (s[0] & 0xfe00) == 0xfc00 // fc00::/7, unique local
                || (s[0] & 0xffc0) == 0xfe80 // fe80::/10, link local
                || (s[0] & 0xffc0) == 0xfec0 // fec0::/10, site local (deprecated)
        }
    }
}

/// Checks a URL's host against the policy without resolving it (IP literals and well-known
/// metadata names); hostnames are checked again after resolution by [`PolicyResolver`].
pub fn check_url(url: &url::Url, policy: OutboundPolicy) -> Result<(), Blocked> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Blocked(url.scheme().to_owned()));
    }
    if !policy.block_private_ips {
        return Ok(());
    }
    let host = url.host().ok_or_else(|| Blocked(String::new()))?;
    let denied = match host {
        url::Host::Ipv4(ip) => is_forbidden_ip(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => is_forbidden_ip(IpAddr::V6(ip)),
        url::Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            // Names are checked after resolution (PolicyResolver), so `localhost` or any name
            // pointing at a private address is refused there; this catches only the metadata
            // name that must never be resolved at all.
            name == "metadata.google.internal"
        }
    };
    if denied { Err(Blocked(host.to_string())) } else { Ok(()) }
}

/// Resolves with the system resolver, then refuses names that resolve to a forbidden address
/// (so `evil.example` pointing at 127.0.0.1 is refused, and the address checked is the one
/// connected to: no second lookup to race).
#[derive(Debug, Clone, Copy)]
pub struct PolicyResolver {
    policy: OutboundPolicy,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl PolicyResolver {
    /// The addresses of `host`, all of them allowed by the policy.
    async fn lookup(self, host: String) -> Result<Vec<SocketAddr>, BoxError> {
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
        if self.policy.block_private_ips
            && let Some(bad) = addrs.iter().find(|a| is_forbidden_ip(a.ip()))
        {
            return Err(Box::new(Blocked(format!("{host} ({})", bad.ip()))));
        }
        Ok(addrs)
    }
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let lookup = self.lookup(name.as_str().to_owned());
        Box::pin(async move { Ok(Box::new(lookup.await?.into_iter()) as Addrs) })
    }
}

/// The same resolver for hyper's connector.
impl tower_service::Service<HyperName> for PolicyResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = BoxError;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), BoxError>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: HyperName) -> Self::Future {
        let lookup = self.lookup(name.as_str().to_owned());
        Box::pin(async move { Ok(lookup.await?.into_iter()) })
    }
}

/// A proxied request's body: empty or in memory (replayable), or the caller's, streamed once.
pub type ProxyBody = Either<Full<Bytes>, BoxBody<Bytes, BoxError>>;

/// The proxy's upstream client: hyper over the policy resolver, TLS by rustls with the
/// platform's roots (as reqwest's), HTTP/1.1 with a keep-alive pool.
type ProxyClient = HyperClient<ProxyConnector, ProxyBody>;

type ProxyConnector = hyper_rustls::HttpsConnector<HttpConnector<PolicyResolver>>;

fn proxy_connector(policy: OutboundPolicy, connect_timeout: Duration) -> Result<ProxyConnector, rustls::Error> {
    use rustls_platform_verifier::BuilderVerifierExt as _;
    let mut http = HttpConnector::new_with_resolver(PolicyResolver { policy });
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(connect_timeout));
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_platform_verifier()?
        .with_no_client_auth();
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http))
}

/// Idle upstream connections the proxy keeps per upstream host, over all its pools.
const IDLE_PER_HOST: usize = 256;

/// A keep-alive pool over `connector` (which shares its TLS configuration between pools),
/// keeping at most `idle_per_host` idle connections per upstream host.
fn proxy_client(connector: ProxyConnector, idle_per_host: usize) -> ProxyClient {
    HyperClient::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(idle_per_host)
        .pool_timer(TokioTimer::new())
        .build(connector)
}

/// The outbound clients and the policy they enforce; cheap to clone (shared pools).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    proxy: ProxyClient,
    connector: ProxyConnector,
    policy: OutboundPolicy,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("policy", &self.policy).finish_non_exhaustive()
    }
}

/// A client that could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    #[error("TLS: {0}")]
    Tls(#[from] rustls::Error),
}

impl Client {
    /// Builds the clients for `policy`.
    pub fn new(policy: OutboundPolicy, connect_timeout: Duration) -> Result<Self, BuildError> {
        let connector = proxy_connector(policy, connect_timeout)?;
        let proxy = proxy_client(connector.clone(), IDLE_PER_HOST);
        Ok(Self { http: client(policy, connect_timeout)?, proxy, connector, policy })
    }

    /// The same client with a proxy pool of its own, one of `pools`: each serving thread keeps
    /// its upstream connections, so that a proxied call and the task driving its connection
    /// run on one thread (no hand-off between threads per call). The idle connections kept per
    /// upstream host are shared out between the pools (at least 16 each), so that the server
    /// keeps about as many as with one pool, whatever its number of threads.
    #[must_use]
    pub fn with_own_proxy_pool(&self, pools: usize) -> Self {
        let idle_per_host = (IDLE_PER_HOST / pools.max(1)).max(16);
        Self { proxy: proxy_client(self.connector.clone(), idle_per_host), ..self.clone() }
    }

    /// Sends one proxied request (no redirect followed; names checked after resolution).
    pub fn send(&self, request: http::Request<ProxyBody>) -> hyper_util::client::legacy::ResponseFuture {
        self.proxy.request(request)
    }

    /// The policy in force.
    pub fn policy(&self) -> OutboundPolicy {
        self.policy
    }

    /// Checks `url` against the policy before any resolution (see [`check_url`]).
    pub fn check(&self, url: &url::Url) -> Result<(), Blocked> {
        check_url(url, self.policy)
    }

    /// Starts a request; names are checked again after resolution and on every redirect.
    pub fn request(&self, method: reqwest::Method, url: url::Url) -> reqwest::RequestBuilder {
        self.http.request(method, url)
    }
}

/// Most redirects followed for one request.
pub const MAX_REDIRECTS: usize = 5;

/// What to do with a redirect from a request that started at `first` to `to`: follow it
/// (`true`), hand it back to the caller (`false`), or refuse it.
///
/// The key was injected for the original host, so a redirect to another origin is never
/// followed: it is handed back whatever its target, since we contact nothing there (a
/// refused address included, as the README says). A same-origin hop is followed once it
/// passes the policy.
pub fn redirect_step(first: Option<&url::Url>, to: &url::Url, policy: OutboundPolicy) -> Result<bool, Blocked> {
    if !first.is_some_and(|f| f.origin() == to.origin()) {
        return Ok(false);
    }
    check_url(to, policy)?;
    Ok(true)
}

/// Builds the underlying `reqwest` client.
fn client(policy: OutboundPolicy, connect_timeout: Duration) -> reqwest::Result<reqwest::Client> {
    let redirect = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(Blocked("too many redirects".to_owned()));
        }
        match redirect_step(attempt.previous().first(), attempt.url(), policy) {
            Ok(true) => attempt.follow(),
            Ok(false) => attempt.stop(),
            Err(blocked) => attempt.error(blocked),
        }
    });
    reqwest::Client::builder()
        .dns_resolver(Arc::new(PolicyResolver { policy }))
        .redirect(redirect)
        .connect_timeout(connect_timeout)
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(256)
        .tcp_nodelay(true)
        .no_proxy()
        .build()
}

/// Whether `err` (or anything in its source chain) is a policy refusal.
pub fn is_blocked(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(err);
    while let Some(e) = current {
        if e.downcast_ref::<Blocked>().is_some() {
            return true;
        }
        current = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_are_followed_on_the_same_origin_and_handed_back_otherwise() {
        let blocking = OutboundPolicy { block_private_ips: true };
        let url = |s: &str| url::Url::parse(s).unwrap();
        let first = url("https://api.example.com/v1/x");
        assert_eq!(redirect_step(Some(&first), &url("https://api.example.com/v2/y"), blocking).ok(), Some(true));
        for away in [
            "https://other.example.com/",
            "http://api.example.com/v1/x",
            "https://api.example.com:8443/",
            // A refused address on another origin is handed back too: nothing is sent there.
            "http://127.0.0.1/admin",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]/",
            "file:///etc/passwd",
        ] {
            assert_eq!(redirect_step(Some(&first), &url(away), blocking).ok(), Some(false), "{away}");
        }
        assert_eq!(redirect_step(None, &url("https://api.example.com/"), blocking).ok(), Some(false));
        let local = url("http://127.0.0.1:9/x");
        assert!(redirect_step(Some(&local), &url("http://127.0.0.1:9/y"), blocking).is_err());
        let open = OutboundPolicy { block_private_ips: false };
        assert_eq!(redirect_step(Some(&local), &url("http://127.0.0.1:9/y"), open).ok(), Some(true));
    }

    #[test]
    fn forbidden_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::127.0.0.1",
            "::7f00:1",
            "::a9fe:a9fe",
            "::ffff:0:7f00:1",
            "2002:7f00:1::1",
            "2002:a00:1::1",
            "100::1",
            "2001::1",
            "2001:2::1",
            "2001:10::1",
            "2001:db8::1",
            "3fff::1",
            "5f00::1",
            "fec0::1",
            "64:ff9b::a00:1",
            "64:ff9b:1::1",
        ] {
            assert!(is_forbidden_ip(ip.parse().unwrap()), "{ip}");
        }
        for ip in
            ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2002:808:808::1", "2001:4860:4860::8888", "2001:20::1"]
        {
            assert!(!is_forbidden_ip(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn urls_are_checked_before_resolution() {
        let on = OutboundPolicy { block_private_ips: true };
        let off = OutboundPolicy { block_private_ips: false };
        for url in
            ["http://127.0.0.1:8080/x", "http://[::1]/", "http://metadata.google.internal/", "ftp://example.com/"]
        {
            assert!(check_url(&url.parse().unwrap(), on).is_err(), "{url}");
        }
        assert!(check_url(&"https://api.example.com/".parse().unwrap(), on).is_ok());
        assert!(check_url(&"http://127.0.0.1:8080/".parse().unwrap(), off).is_ok());
        assert!(check_url(&"file:///etc/passwd".parse().unwrap(), off).is_err());
    }

    #[tokio::test]
    async fn names_resolving_to_private_addresses_are_refused() {
        let on = PolicyResolver { policy: OutboundPolicy { block_private_ips: true } };
        let err = on.resolve("localhost".parse().unwrap()).await.err().expect("refused");
        assert!(is_blocked(err.as_ref()));
        let off = PolicyResolver { policy: OutboundPolicy { block_private_ips: false } };
        assert!(off.resolve("localhost".parse().unwrap()).await.is_ok());
    }
}
