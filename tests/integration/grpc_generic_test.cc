// The node seen by generic gRPC tooling (health, reflection) and by hostile
// clients: malformed and oversize requests, bad ids and cursors. Each gets a
// clear status; the node keeps serving.
#include <google/protobuf/descriptor.pb.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>
#include <future>

#include "chipledger/v1/ledger.grpc.pb.h"
#include "grpc/health/v1/health_min.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection_min.grpc.pb.h"
#include "harness.h"

using namespace chip;
using namespace chip::itest;
namespace pb = ::chipledger::v1;

namespace {

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return c;
}

// A unary call with raw request bytes, as a generic client would make it.
grpc::Status RawCall(const std::shared_ptr<grpc::Channel>& ch, const std::string& method,
                     const std::string& bytes) {
  grpc::GenericStub stub(ch);
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1), response;
  auto ctx = Ctx();
  std::promise<grpc::Status> done;
  stub.UnaryCall(ctx.get(), method, grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) { done.set_value(std::move(s)); });
  return done.get_future().get();
}

}  // namespace

TEST_CASE("generic gRPC clients find the services and bad requests get clear statuses",
          "[integration][grpc]") {
  DevNode node;
  REQUIRE(node.Start());
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(64 << 20);
  auto channel =
      grpc::CreateCustomChannel(node.address(), grpc::InsecureChannelCredentials(), args);

  SECTION("standard health service") {
    auto health = grpc::health::v1::Health::NewStub(channel);
    grpc::health::v1::HealthCheckRequest req;
    grpc::health::v1::HealthCheckResponse resp;
    auto ctx = Ctx();
    REQUIRE(health->Check(ctx.get(), req, &resp).ok());
    CHECK(resp.status() == grpc::health::v1::HealthCheckResponse::SERVING);
  }

  SECTION("server reflection lists the services and serves their schema") {
    auto refl = grpc::reflection::v1alpha::ServerReflection::NewStub(channel);
    auto ctx = Ctx();
    auto stream = refl->ServerReflectionInfo(ctx.get());
    grpc::reflection::v1alpha::ServerReflectionRequest req;
    req.set_list_services("");
    REQUIRE(stream->Write(req));
    grpc::reflection::v1alpha::ServerReflectionResponse resp;
    REQUIRE(stream->Read(&resp));
    std::set<std::string> names;
    for (const auto& s : resp.list_services_response().service()) names.insert(s.name());
    CHECK(names.count("chipledger.v1.Ledger") == 1);
    CHECK(names.count("grpc.health.v1.Health") == 1);
    req.set_file_containing_symbol("chipledger.v1.Ledger");
    REQUIRE(stream->Write(req));
    REQUIRE(stream->Read(&resp));
    REQUIRE(resp.file_descriptor_response().file_descriptor_proto_size() >= 1);
    google::protobuf::FileDescriptorProto file;
    REQUIRE(file.ParseFromString(resp.file_descriptor_response().file_descriptor_proto(0)));
    CHECK(file.name() == "chipledger/v1/ledger.proto");
    bool has_submit = false;
    for (const auto& svc : file.service()) {
      for (const auto& m : svc.method()) has_submit = has_submit || m.name() == "SubmitTx";
    }
    CHECK(has_submit);
    stream->WritesDone();
  }

  SECTION("malformed, oversize and unknown requests") {
    // Bytes that are not a protobuf message.
    grpc::Status s = RawCall(channel, "/chipledger.v1.Ledger/SubmitTx", "\xff\xff\xff\xff garbage");
    CHECK_FALSE(s.ok());
    CHECK(s.error_code() != grpc::StatusCode::UNAVAILABLE);
    // A request over the 4 MiB limit.
    s = RawCall(channel, "/chipledger.v1.Ledger/SubmitBatch", std::string(5 << 20, '\x0a'));
    CHECK(s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
    // A method that does not exist.
    s = RawCall(channel, "/chipledger.v1.Ledger/Nope", "");
    CHECK(s.error_code() == grpc::StatusCode::UNIMPLEMENTED);

    auto stub = pb::Ledger::NewStub(channel);
    {
      pb::GetTxRequest req;
      req.set_tx_hash("short");
      pb::GetTxResponse resp;
      auto ctx = Ctx();
      CHECK(stub->GetTx(ctx.get(), req, &resp).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
      req.set_tx_hash(std::string(32, '\x01'));
      auto ctx2 = Ctx();
      CHECK(stub->GetTx(ctx2.get(), req, &resp).error_code() == grpc::StatusCode::NOT_FOUND);
    }
    {
      pb::GetAccountRequest req;
      req.set_account(std::string(32, '\x02'));
      pb::GetAccountResponse resp;
      auto ctx = Ctx();
      CHECK(stub->GetAccount(ctx.get(), req, &resp).error_code() == grpc::StatusCode::NOT_FOUND);
    }
    {
      pb::ListHistoryRequest req;
      req.set_account(std::string(32, '\x02'));
      req.set_cursor("not a cursor");
      pb::ListHistoryResponse resp;
      auto ctx = Ctx();
      CHECK(stub->ListHistory(ctx.get(), req, &resp).error_code() ==
            grpc::StatusCode::INVALID_ARGUMENT);
      req.set_cursor("");
      req.set_page_size(1000);
      auto ctx2 = Ctx();
      CHECK(stub->ListHistory(ctx2.get(), req, &resp).error_code() ==
            grpc::StatusCode::INVALID_ARGUMENT);
    }
    {
      pb::GetBlockRequest req;
      req.set_height(1'000'000);
      pb::GetBlockResponse resp;
      auto ctx = Ctx();
      CHECK(stub->GetBlock(ctx.get(), req, &resp).error_code() == grpc::StatusCode::NOT_FOUND);
    }
    {
      pb::SubmitBatchRequest req;
      pb::SubmitBatchResponse resp;
      auto ctx = Ctx();
      CHECK(stub->SubmitBatch(ctx.get(), req, &resp).error_code() ==
            grpc::StatusCode::INVALID_ARGUMENT);
      for (int i = 0; i < 1001; ++i) req.add_txs()->set_body("x");
      auto ctx2 = Ctx();
      CHECK(stub->SubmitBatch(ctx2.get(), req, &resp).error_code() ==
            grpc::StatusCode::INVALID_ARGUMENT);
    }
    {
      // A transaction that fails a stateless check is a result code, not an
      // RPC failure.
      pb::SubmitTxRequest req;
      req.mutable_tx()->set_body("\x0a\x01");
      req.mutable_tx()->set_signer(std::string(32, 's'));
      req.mutable_tx()->set_signature(std::string(64, 'g'));
      pb::SubmitTxResponse resp;
      auto ctx = Ctx();
      REQUIRE(stub->SubmitTx(ctx.get(), req, &resp).ok());
      CHECK(resp.result().code() == pb::RESULT_MALFORMED);
      pb::SubmitTxRequest empty;
      auto ctx2 = Ctx();
      CHECK(stub->SubmitTx(ctx2.get(), empty, &resp).error_code() ==
            grpc::StatusCode::INVALID_ARGUMENT);
    }
    // The node is still serving and committing.
    uint64_t height = node.ChipJson({"status"})["height"];
    node.ChipJson({"keys", "new", "frank"});
    CHECK(node.ChipJson({"send", "frank", "1"})["code"] == "OK");
    CHECK(node.ChipJson({"status"})["height"].get<uint64_t>() == height + 1);
  }

  SECTION("block stream delivers existing and new blocks") {
    auto stub = pb::Ledger::NewStub(channel);
    node.ChipJson({"keys", "new", "erin"});
    node.ChipJson({"send", "erin", "1"});
    auto ctx = Ctx();
    pb::StreamBlocksRequest req;
    req.set_from_height(0);
    auto reader = stub->StreamBlocks(ctx.get(), req);
    pb::StreamBlocksResponse msg;
    REQUIRE(reader->Read(&msg));
    CHECK(msg.block().header().height() == 0);
    REQUIRE(reader->Read(&msg));
    CHECK(msg.block().header().height() == 1);
    auto sender = std::async(std::launch::async, [&] {
      return node.Chip({"send", "erin", "2"}).code;
    });
    REQUIRE(reader->Read(&msg));
    CHECK(msg.block().header().height() == 2);
    CHECK(sender.get() == 0);
    ctx->TryCancel();
  }
  // Metrics are served in the Prometheus text format.
  std::string metrics_cmd =
      "curl -sf http://" + node.metrics_address() + "/metrics > " + node.dir().Sub("metrics.txt");
  REQUIRE(std::system(metrics_cmd.c_str()) == 0);
  std::string text = ReadFile(node.dir().Sub("metrics.txt"));
  CHECK(text.find("chip_blocks_committed_total") != std::string::npos);
  CHECK(text.find("chip_submit_to_commit_seconds_bucket{le=\"+Inf\"}") != std::string::npos);
  CHECK(text.find("process_resident_memory_bytes") != std::string::npos);
  CHECK(text.find("chip_rocksdb_estimate_num_keys") != std::string::npos);
}
