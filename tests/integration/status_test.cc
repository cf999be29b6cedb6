// `chip status` on a cluster node asks every member at once: a fake node
// that reports a cluster of itself and members that never answer.
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "chipledger/v1/ledger.grpc.pb.h"
#include "harness.h"

using namespace chip;
using namespace chip::itest;
namespace pb = ::chipledger::v1;

namespace {

// A TCP port that accepts connections (the kernel completes them from the
// listen backlog) but never says anything: a gRPC call to it waits for its
// whole deadline, like a member that hangs.
class SilentPort {
 public:
  SilentPort() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    REQUIRE(::listen(fd_, 64) == 0);
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    address_ = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  }
  ~SilentPort() { ::close(fd_); }
  const std::string& address() const { return address_; }

 private:
  int fd_;
  std::string address_;
};

// Answers GetStatus as a cluster node whose members are itself and
// `others`, and GetBlock with a fixed block hash.
class FakeClusterNode final : public pb::Ledger::Service {
 public:
  explicit FakeClusterNode(std::vector<std::string> others) : others_(std::move(others)) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
    REQUIRE(server_ != nullptr);
    address_ = "127.0.0.1:" + std::to_string(port);
  }
  ~FakeClusterNode() override { server_->Shutdown(std::chrono::system_clock::now()); }
  const std::string& address() const { return address_; }

  grpc::Status GetStatus(grpc::ServerContext*, const pb::GetStatusRequest*,
                         pb::GetStatusResponse* r) override {
    r->set_chain_name("fake-cluster");
    r->set_chain_id(std::string(32, '\x01'));
    r->set_height(7);
    r->set_tip_hash(std::string(32, '\x07'));
    r->set_version("fake");
    pb::ClusterStatus* c = r->mutable_cluster();
    c->set_enabled(true);
    c->mutable_producer()->set_address(address_);
    c->add_members()->set_address(address_);
    for (const auto& o : others_) c->add_members()->set_address(o);
    return grpc::Status::OK;
  }
  grpc::Status GetBlock(grpc::ServerContext*, const pb::GetBlockRequest*,
                        pb::GetBlockResponse* r) override {
    r->set_block_hash(std::string(32, '\x07'));
    return grpc::Status::OK;
  }

 private:
  std::vector<std::string> others_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

}  // namespace

TEST_CASE("chip status asks cluster members concurrently: hung members cost one timeout (#13)",
          "[integration][cli][cluster]") {
  std::vector<std::unique_ptr<SilentPort>> hung;
  std::vector<std::string> addresses;
  for (int i = 0; i < 4; ++i) {
    hung.push_back(std::make_unique<SilentPort>());
    addresses.push_back(hung.back()->address());
  }
  FakeClusterNode node(addresses);
  addresses.push_back(node.address());
  std::sort(addresses.begin(), addresses.end());

  test::TempDir dir;
  constexpr int kTimeoutMs = 1500;
  const auto start = std::chrono::steady_clock::now();
  pid_t pid = Spawn(CHIP_PATH,
                    {"--node", node.address(), "--wallet", dir.Sub("wallet"), "--timeout-ms",
                     std::to_string(kTimeoutMs), "status"},
                    {}, dir.Sub("out"), dir.Sub("err"));
  const int code = WaitExit(pid, std::chrono::seconds(60));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  const std::string out = ReadFile(dir.Sub("out"));
  INFO("out: " << out << "\nerr: " << ReadFile(dir.Sub("err")));
  CHECK(code == 0);  // the one member that answered agrees with itself
  // Asked one after another, four hung members took four timeouts.
  CHECK(elapsed < std::chrono::milliseconds(2 * kTimeoutMs + 500));
  // Every member is listed, in address order, the hung ones as unreachable.
  size_t at = out.find("cluster       5 nodes registered");
  REQUIRE(at != std::string::npos);
  for (const std::string& a : addresses) {
    size_t line = out.find(" " + a + "  ", at);
    REQUIRE(line != std::string::npos);
    size_t end = out.find('\n', line);
    const std::string text = out.substr(line, end - line);
    CHECK((a == node.address()) == (text.find("unreachable") == std::string::npos));
    at = end;
  }
  CHECK(out.find("agree         yes: every reachable node holds block 7") != std::string::npos);
}
