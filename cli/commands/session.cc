#include "cli/commands/session.h"

#include <iostream>

namespace chip::cli {

namespace pb = ::chipledger::v1;
using nlohmann::json;

Session::Session(const Globals& g)
    : g_(g), keystore_(g.wallet), client_(g.node, g.timeout_ms), pass_{g.passphrase_file} {}

int Session::Fail(const CliError& e) {
  std::cerr << "chip: " << e.message << "\n";
  if (g_.json)
    std::cout << SafeDump(json{{"error", e.message}, {"exit_code", e.exit_code}}) << "\n";
  return e.exit_code;
}

int Session::ResolveFail(const Status& s) {
  return Fail(s.code() == Status::Code::kNotFound ? kExitWallet : kExitUsage, s.message());
}

void Session::Print(const json& j, const std::string& human) {
  if (g_.json) {
    std::cout << SafeDump(j) << "\n";
  } else {
    std::cout << human;
    if (!human.empty() && human.back() != '\n') std::cout << "\n";
  }
}

Result<SecretKey> Session::Unlock(const std::string& name) {
  auto info = keystore_.Info(name);
  if (!info.ok()) return info.status();
  std::string pass;
  if (info->is_protected) {
    auto p = pass_.Get("Passphrase for key '" + name + "': ", false);
    if (!p.ok()) return p.status();
    pass = *p;
  }
  return keystore_.Unlock(name, pass);
}

const pb::GetStatusResponse& Session::NodeStatus() {
  if (!status_fetched_) {
    status_fetched_ = true;
    auto ctx = client_.Context();
    status_error_ = client_.stub()->GetStatus(ctx.get(), pb::GetStatusRequest(), &status_);
    status_ok_ = status_error_.ok() && status_.chain_id().size() == 32;
    if (status_error_.ok() && !status_ok_) {
      status_error_ = grpc::Status(grpc::StatusCode::INTERNAL, "node sent no chain id");
    }
  }
  return status_;
}

std::optional<Hash32> Session::SigningChainId() {
  if (offline_chain_id_) return offline_chain_id_;
  const pb::GetStatusResponse& st = NodeStatus();
  if (!status_ok_) return std::nullopt;
  return ToHash32(st.chain_id());
}

}  // namespace chip::cli
