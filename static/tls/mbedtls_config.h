// mbedTLS configuration of healthcheck-tls (static/tls/README.md): a TLS
// client and nothing else. Replaces mbedTLS's default config
// (-DMBEDTLS_CONFIG_FILE); mbedTLS derives the PSA side from it.
//
// What a health check needs: TLS 1.2 and 1.3 to a server, SNI, ECDHE with
// ECDSA or RSA certificates, AES-GCM and ChaCha20-Poly1305, X.509 parsing
// and verification of a chain against a CA file, a client certificate with
// an EC or RSA key. Left out: the server side, DTLS, renegotiation, PSK
// (TLS 1.2 PSK suites and TLS 1.3 PSK-only modes), session tickets and
// resumption, CBC and every legacy cipher, static RSA key exchange, finite
// field DH, SHA-1 and MD5, error strings (healthcheck names the few errors a
// check meets itself), the self tests, file and network helpers (the
// healthcheck package reads the files and owns the socket).
#ifndef HEALTHCHECK_MBEDTLS_CONFIG_H
#define HEALTHCHECK_MBEDTLS_CONFIG_H

// --- platform -----------------------------------------------------------
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_HAVE_TIME        // certificate validity is checked against
#define MBEDTLS_HAVE_TIME_DATE   // the clock (gmtime_r)
#define MBEDTLS_DEPRECATED_REMOVED
// No MBEDTLS_HAVE_ASM: bignum's inline assembly is written for gcc on a few
// architectures; the C code is the same on all eight and fast enough for
// one handshake.

// --- randomness: getrandom(2) (no /dev/urandom needed in the image) -----
#define MBEDTLS_ENTROPY_C
#define MBEDTLS_CTR_DRBG_C

// --- TLS: client only, 1.2 and 1.3 --------------------------------------
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_PROTO_TLS1_2
#define MBEDTLS_SSL_PROTO_TLS1_3
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL_ENABLED
#define MBEDTLS_SSL_TLS1_3_COMPATIBILITY_MODE  // middleboxes: what browsers send
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE      // --debug shows the server's certificate
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET
#define MBEDTLS_SSL_ALL_ALERT_MESSAGES
#define MBEDTLS_SSL_ALPN   // GRPC --tls offers "h2": gRPC servers close a client without it
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_RSA_ENABLED
// A record can be 16 KB; what we send is one small request.
#define MBEDTLS_SSL_IN_CONTENT_LEN  16384
#define MBEDTLS_SSL_OUT_CONTENT_LEN 4096
// TLS 1.3 is built on PSA Crypto (derived from the legacy options here).
// Not MBEDTLS_USE_PSA_CRYPTO: TLS 1.2 and X.509 on the legacy API are 24 KB
// smaller.
#define MBEDTLS_PSA_CRYPTO_C

// --- ciphers: AES-GCM and ChaCha20-Poly1305 ------------------------------
#define MBEDTLS_CIPHER_C
#define MBEDTLS_AES_C
#define MBEDTLS_AES_ROM_TABLES     // tables in .rodata, not built at start
#define MBEDTLS_AES_FEWER_TABLES   // 8 KB of them instead of 16 KB
#define MBEDTLS_GCM_C
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C
#define MBEDTLS_CHACHAPOLY_C

// --- hashes: SHA-256 and SHA-384/512 (signatures, HKDF, the transcript) -
#define MBEDTLS_MD_C
#define MBEDTLS_SHA224_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA256_SMALLER
#define MBEDTLS_SHA384_C
#define MBEDTLS_SHA512_C
#define MBEDTLS_SHA512_SMALLER
#define MBEDTLS_HKDF_C

// --- public keys: ECDHE, ECDSA, RSA (PKCS#1 v1.5 and PSS) ----------------
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECDSA_C
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED
#define MBEDTLS_ECP_DP_SECP521R1_ENABLED
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_RSA_C
#define MBEDTLS_PKCS1_V15
#define MBEDTLS_PKCS1_V21          // RSA-PSS: TLS 1.3 signs with it
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_PK_WRITE_C         // PSA imports keys through it

// --- X.509 and the files: PEM or DER ------------------------------------
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_OID_C
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C
#define MBEDTLS_X509_RSASSA_PSS_SUPPORT
#define MBEDTLS_PEM_PARSE_C
#define MBEDTLS_BASE64_C

#endif // HEALTHCHECK_MBEDTLS_CONFIG_H
