//! The TLS directives: a listener beside the plain port, its certificates
//! and how clients are authenticated (see `crate::tls`). All of them may
//! change at runtime, as in Redis 7: CONFIG SET reads the files again and
//! moves the TLS listeners (`cmd::config`); the values here are only
//! checked for form.

use super::args::{one, one_of, optional_path, ranged, shown_path, tls_protocols};
use super::directives::Directive;
use super::settings::TlsAuthClients;

pub(super) const TLS: &[Directive] = &[
    Directive {
        name: "tls-port",
        settable: true,
        set: |c, args| {
            c.tls_port = ranged(one(args)?, 0, 65535)?;
            Ok(())
        },
        get: Some(|c| c.tls_port.to_string()),
    },
    Directive {
        name: "tls-cert-file",
        settable: true,
        set: |c, args| {
            c.tls_cert_file = optional_path(one(args)?);
            Ok(())
        },
        get: Some(|c| shown_path(&c.tls_cert_file)),
    },
    Directive {
        name: "tls-key-file",
        settable: true,
        set: |c, args| {
            c.tls_key_file = optional_path(one(args)?);
            Ok(())
        },
        get: Some(|c| shown_path(&c.tls_key_file)),
    },
    Directive {
        name: "tls-ca-cert-file",
        settable: true,
        set: |c, args| {
            c.tls_ca_cert_file = optional_path(one(args)?);
            Ok(())
        },
        get: Some(|c| shown_path(&c.tls_ca_cert_file)),
    },
    Directive {
        name: "tls-ca-cert-dir",
        settable: true,
        set: |c, args| {
            c.tls_ca_cert_dir = optional_path(one(args)?);
            Ok(())
        },
        get: Some(|c| shown_path(&c.tls_ca_cert_dir)),
    },
    Directive {
        name: "tls-auth-clients",
        settable: true,
        set: |c, args| {
            let choices = [
                ("no", TlsAuthClients::No),
                ("yes", TlsAuthClients::Yes),
                ("optional", TlsAuthClients::Optional),
            ];
            c.tls_auth_clients = one_of(one(args)?, &choices)?;
            Ok(())
        },
        get: Some(|c| c.tls_auth_clients.name().to_owned()),
    },
    Directive {
        name: "tls-protocols",
        settable: true,
        set: |c, args| {
            c.tls_protocols = tls_protocols(one(args)?)?;
            Ok(())
        },
        get: Some(|c| c.tls_protocols.clone()),
    },
];
