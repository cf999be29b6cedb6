// Structural checks of PEM files (RFC 7468) for TLS, needing no X.509
// parsing: matching BEGIN and END lines, a base64 body, and for certificates
// and keys one DER structure filling it, with a block of the kind the file's
// role needs. gRPC does the rest with the file text (a key that is not the
// certificate's, expiry). Shared by node/serve/tls.cc and cli/tls.cc; pure text
// processing, no I/O.
#pragma once

#include <string>

#include "ledger/status.h"

namespace chip {

// `pem`, the text of `path`, holds at least one CERTIFICATE block and only
// well-formed PEM blocks. `what` names the file's role in messages (e.g.
// "--tls-ca", "TLS certificate").
Status CheckPemCertificates(const std::string& what, const std::string& path,
                            const std::string& pem);

// `pem`, the text of key file `path`, holds an unencrypted private key
// (PKCS #8, SEC 1 or PKCS #1) and only well-formed PEM blocks; an encrypted
// one is refused with `if_encrypted` as advice.
Status CheckPemPrivateKey(const std::string& what, const std::string& path, const std::string& pem,
                          const std::string& if_encrypted);

}  // namespace chip
