// PriceCommands: the Pricing client, and how its commands print.
#include <iostream>

#include "cli/price/price.h"
#include "cli/tls.h"

namespace chip::cli {

namespace pb = ::chipledger::v1;
using nlohmann::json;

PriceCommands::PriceCommands(const std::string& node, uint64_t timeout_ms, bool json_output)
    : client_(node, timeout_ms), json_(json_output) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  pricing_ = pb::Pricing::NewStub(NewChannel(node, args));  // chip's TLS options
}

int PriceCommands::Fail(const CliError& e) const {
  std::cerr << "chip: " << e.message << "\n";
  if (json_) std::cout << SafeDump(json{{"error", e.message}, {"exit_code", e.exit_code}}) << "\n";
  return e.exit_code;
}

void PriceCommands::Print(const json& j, const std::string& human) const {
  if (json_) {
    std::cout << SafeDump(j) << "\n";
  } else {
    std::cout << human;
    if (!human.empty() && human.back() != '\n') std::cout << "\n";
  }
}

CliError PriceCommands::RpcError(const grpc::Status& s) const {
  if (s.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    return {kExitError, "the node at " + client_.target() +
                            " does not serve chipledger.v1.Pricing (a chipd without pricing?)"};
  }
  return client_.Error(s);
}

}  // namespace chip::cli
