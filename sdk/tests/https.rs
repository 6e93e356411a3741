//! HTTPS works out of the box: a client for an `https://` URL speaks TLS (the generated
//! client's reqwest has no TLS of its own, so this fails without the SDK's TLS feature).

use tokio::io::AsyncReadExt;

#[tokio::test]
async fn https_urls_speak_tls() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut first = [0u8; 3];
        socket.read_exact(&mut first).await.unwrap();
        first
    });
    let nango =
        nango_sdk::Nango::new(&format!("https://127.0.0.1:{port}"), "3e66ffb3-7d9f-46c8-9959-f8871d40b087").unwrap();
    let err = nango.list_integrations().await.unwrap_err();
    let first = tokio::time::timeout(std::time::Duration::from_secs(10), server)
        .await
        .unwrap_or_else(|_| panic!("the client never connected: {err:?}"))
        .unwrap();
    // 0x16 0x03: a TLS handshake record (ClientHello).
    assert_eq!(&first[..2], &[0x16, 0x03], "the client did not start a TLS handshake");
    assert!(matches!(err, nango_sdk::Error::Transport(_)), "{err:?}");
}
