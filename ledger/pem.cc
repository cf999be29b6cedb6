#include "ledger/pem.h"

#include <cstdint>
#include <sstream>
#include <vector>

namespace chip {
namespace {

// One PEM block (RFC 7468) of a file.
struct PemBlock {
  std::string label;       // between "-----BEGIN " and "-----", e.g. "CERTIFICATE"
  int line = 0;            // of its BEGIN line, from 1
  bool encrypted = false;  // it has the RFC 1421 header "Proc-Type: 4,ENCRYPTED"
  std::string problem;     // why it is malformed; "" when well formed
};

// The private key blocks gRPC's TLS library reads without a passphrase:
// PKCS #8, SEC 1 (EC) and PKCS #1 (RSA).
bool IsKeyLabel(const std::string& label) {
  return label == "PRIVATE KEY" || label == "EC PRIVATE KEY" || label == "RSA PRIVATE KEY";
}

// Decodes standard base64 with '=' padding; false when `b64` is not that.
bool DecodeBase64(const std::string& b64, std::string* out) {
  if (b64.empty() || b64.size() % 4 != 0) return false;
  size_t pad = b64.back() == '=' ? (b64[b64.size() - 2] == '=' ? 2 : 1) : 0;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < b64.size() - pad; ++i) {
    char c = b64[i];
    uint32_t v;
    if (c >= 'A' && c <= 'Z') {
      v = static_cast<uint32_t>(c - 'A');
    } else if (c >= 'a' && c <= 'z') {
      v = static_cast<uint32_t>(c - 'a' + 26);
    } else if (c >= '0' && c <= '9') {
      v = static_cast<uint32_t>(c - '0' + 52);
    } else if (c == '+' || c == '/') {
      v = c == '+' ? 62 : 63;
    } else {
      return false;  // also a '=' before the end
    }
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

// True when `der` is exactly one DER SEQUENCE (definite length): the outer
// shape of a certificate and of every private key format. A truncated,
// corrupted or pasted-together block fails it.
bool IsOneDerSequence(const std::string& der) {
  if (der.size() < 2 || static_cast<uint8_t>(der[0]) != 0x30) return false;
  size_t first = static_cast<uint8_t>(der[1]);
  size_t header = 2;
  size_t length = first;
  if (first & 0x80) {
    size_t n = first & 0x7f;  // 0 is BER's indefinite length, not DER
    if (n == 0 || n > 4 || der.size() < 2 + n) return false;
    length = 0;
    for (size_t i = 0; i < n; ++i) length = (length << 8) | static_cast<uint8_t>(der[2 + i]);
    header += n;
  }
  return header + length == der.size();
}

// What is wrong with the base64 `body` of block `b`, or "".
std::string BodyProblem(const PemBlock& b, const std::string& body) {
  std::string der;
  if (body.empty()) return "it is empty";
  if (!DecodeBase64(body, &der)) return "its body is not base64";
  bool structured = b.label == "CERTIFICATE" || IsKeyLabel(b.label);
  if (structured && !b.encrypted && !IsOneDerSequence(der)) {
    return "its data is not one DER structure (truncated, corrupted, or not a " +
           std::string(b.label == "CERTIFICATE" ? "certificate" : "key") + ")";
  }
  return "";
}

std::string Trim(const std::string& s) {
  size_t begin = s.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(" \t\r") - begin + 1);
}

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// Every PEM block of `text`, each checked. Text between blocks is ignored,
// as gRPC's TLS library ignores it (openssl x509 -text puts some there).
std::vector<PemBlock> ScanPem(const std::string& text) {
  std::vector<PemBlock> blocks;
  bool inside = false;
  bool in_headers = false;  // RFC 1421 headers come before the body
  std::string body;
  std::istringstream in(text);
  std::string line;
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    line = Trim(line);
    bool begin = StartsWith(line, "-----BEGIN ") && line.size() > 16 &&
                 line.compare(line.size() - 5, 5, "-----") == 0;
    if (inside && (begin || StartsWith(line, "-----END "))) {
      PemBlock& b = blocks.back();
      inside = false;
      if (begin) {
        b.problem = "it has no '-----END " + b.label + "-----' line";
      } else if (line != "-----END " + b.label + "-----") {
        b.problem = "it ends with '" + line + "' at line " + std::to_string(line_no);
      } else {
        b.problem = BodyProblem(b, body);
      }
    }
    if (begin) {
      blocks.emplace_back();
      blocks.back().label = line.substr(11, line.size() - 16);
      blocks.back().line = line_no;
      inside = true;
      in_headers = true;
      body.clear();
    } else if (inside && in_headers && line.find(':') != std::string::npos) {
      if (StartsWith(line, "Proc-Type:") && line.find("ENCRYPTED") != std::string::npos) {
        blocks.back().encrypted = true;
      }
    } else if (inside && !line.empty()) {
      in_headers = false;
      body += line;
    }
  }
  if (inside) blocks.back().problem = "it has no '-----END " + blocks.back().label + "-----' line";
  return blocks;
}

// The first malformed block of `blocks` as an error naming the file, or OK.
Status FirstMalformed(const std::string& what, const std::string& path,
                      const std::vector<PemBlock>& blocks) {
  for (const auto& b : blocks) {
    if (!b.problem.empty()) {
      return Status::InvalidArgument(what + " " + path + ": malformed PEM " + b.label +
                                     " block at line " + std::to_string(b.line) + ": " + b.problem);
    }
  }
  return Status::Ok();
}

// "; it has X, Y" listing the blocks found, for a file without the expected one.
std::string Found(const std::vector<PemBlock>& blocks) {
  if (blocks.empty()) return "; it has no PEM block at all";
  std::string out = "; it has ";
  for (size_t i = 0; i < blocks.size(); ++i) out += (i ? ", " : "") + blocks[i].label;
  return out;
}

}  // namespace

// Checks that `pem`, the text of `path`, holds at least one certificate and
// only well-formed PEM blocks.
Status CheckPemCertificates(const std::string& what, const std::string& path,
                            const std::string& pem) {
  std::vector<PemBlock> blocks = ScanPem(pem);
  CHIP_RETURN_IF_ERROR(FirstMalformed(what, path, blocks));
  for (const auto& b : blocks) {
    if (b.label == "CERTIFICATE") return Status::Ok();
  }
  return Status::InvalidArgument(what + " " + path +
                                 ": no PEM certificate in it (expected a '-----BEGIN "
                                 "CERTIFICATE-----' block" +
                                 Found(blocks) + ")");
}

// Checks that `pem`, the text of key file `path`, holds an unencrypted
// private key and only well-formed PEM blocks.
Status CheckPemPrivateKey(const std::string& what, const std::string& path, const std::string& pem,
                          const std::string& if_encrypted) {
  std::vector<PemBlock> blocks = ScanPem(pem);
  for (const auto& b : blocks) {
    if (b.label == "ENCRYPTED PRIVATE KEY" || b.encrypted) {
      return Status::InvalidArgument(what + " " + path + " is encrypted; " + if_encrypted);
    }
  }
  CHIP_RETURN_IF_ERROR(FirstMalformed(what, path, blocks));
  for (const auto& b : blocks) {
    if (IsKeyLabel(b.label)) return Status::Ok();
  }
  return Status::InvalidArgument(what + " " + path +
                                 ": no PEM private key in it (expected a '-----BEGIN PRIVATE "
                                 "KEY-----' block, or EC PRIVATE KEY or RSA PRIVATE KEY" +
                                 Found(blocks) + ")");
}

}  // namespace chip
