// The node seen by generic gRPC tooling (health, reflection) and by hostile
// clients: malformed and oversize requests, bad ids and cursors. Each gets a
// clear status; the node keeps serving.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>
#include <future>

#include "chipledger/v1/ledger.grpc.pb.h"
#include "chipledger/v1/pricing.pb.h"
#include "grpc/health/v1/health_min.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection_min.grpc.pb.h"
#include "harness.h"
#include "ledger/checkpoint.h"

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

TEST_CASE("a full mempool answers RESOURCE_EXHAUSTED and shutdown commits what it holds",
          "[integration][grpc]") {
  DevNode node;
  // Blocks are cut only when 10 transactions wait (or after a minute).
  REQUIRE(node.Start(
      {"--block-interval-ms", "60000", "--block-tx-max", "10", "--mempool-tx-max", "10"}));
  node.ChipJson({"keys", "new", "sink"});
  auto sign = [&](int n) {
    pb::SubmitBatchRequest req;
    for (int i = 0; i < n; ++i) {
      std::string hex = node.ChipJson({"send", "sink", "1", "--sign-only"})["tx_hex"];
      REQUIRE(req.add_txs()->ParseFromString(*FromHex(hex)));
    }
    return req;
  };
  pb::SubmitBatchRequest nine = sign(9), two = sign(2);
  auto channel = grpc::CreateChannel(node.address(), grpc::InsecureChannelCredentials());
  auto stub = pb::Ledger::NewStub(channel);
  // The nine wait in the mempool for their block.
  auto waiting = std::async(std::launch::async, [&] {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    pb::SubmitBatchResponse resp;
    grpc::Status s = stub->SubmitBatch(&ctx, nine, &resp);
    return std::make_pair(s, resp);
  });
  // Wait until the node reports them queued.
  for (int i = 0; i < 100 && node.ChipJson({"status"})["mempool_depth"] != 9; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(node.ChipJson({"status"})["mempool_depth"] == 9);
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    pb::SubmitBatchResponse resp;
    grpc::Status s = stub->SubmitBatch(&ctx, two, &resp);
    CHECK(s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
    CHECK(s.error_message().find("mempool full") != std::string::npos);
  }
  // SIGTERM: the queued block is committed before the node closes.
  REQUIRE(node.Stop() == 0);
  auto [status, resp] = waiting.get();
  REQUIRE(status.ok());
  REQUIRE(resp.results_size() == 9);
  for (const auto& r : resp.results()) CHECK(r.code() == pb::RESULT_OK);
  REQUIRE(node.Start());
  CHECK(node.ChipJson({"balance", "sink"})["balance"]["ucu"] == 9'000'000);
}

TEST_CASE("proof requests outside the history log answer OUT_OF_RANGE", "[integration][grpc]") {
  DevNode node;
  REQUIRE(node.Start());
  node.ChipJson({"keys", "new", "p"});
  std::string first = node.ChipJson({"send", "p", "1"})["tx_hash"];
  node.ChipJson({"send", "p", "2"});
  node.ChipJson({"send", "p", "3"});
  auto stub =
      pb::Ledger::NewStub(grpc::CreateChannel(node.address(), grpc::InsecureChannelCredentials()));
  auto call_incl = [&](const std::string& hash, uint64_t size) {
    pb::GetInclusionProofRequest req;
    req.set_tx_hash(*FromHex(hash));
    req.set_tree_size(size);
    pb::GetInclusionProofResponse resp;
    auto ctx = Ctx();
    return std::make_pair(stub->GetInclusionProof(ctx.get(), req, &resp), resp);
  };
  auto call_cons = [&](uint64_t a, uint64_t b) {
    pb::GetConsistencyProofRequest req;
    req.set_first(a);
    req.set_second(b);
    pb::GetConsistencyProofResponse resp;
    auto ctx = Ctx();
    return stub->GetConsistencyProof(ctx.get(), req, &resp);
  };
  auto ok = call_incl(first, 3);
  REQUIRE(ok.first.ok());
  CHECK(ok.second.leaf_index() == 0);
  CHECK(ok.second.proof_size() == 2);
  CHECK(call_incl(first, 4).first.error_code() == grpc::StatusCode::OUT_OF_RANGE);
  std::string last = node.ChipJson({"send", "p", "4"})["tx_hash"];
  CHECK(call_incl(last, 3).first.error_code() == grpc::StatusCode::OUT_OF_RANGE);
  CHECK(call_incl(std::string(64, 'b'), 0).first.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(call_cons(1, 4).ok());
  CHECK(call_cons(0, 4).error_code() == grpc::StatusCode::OUT_OF_RANGE);
  CHECK(call_cons(3, 2).error_code() == grpc::StatusCode::OUT_OF_RANGE);
  CHECK(call_cons(1, 5).error_code() == grpc::StatusCode::OUT_OF_RANGE);
  pb::GetCheckpointResponse cp;
  auto ctx = Ctx();
  REQUIRE(stub->GetCheckpoint(ctx.get(), pb::GetCheckpointRequest(), &cp).ok());
  CHECK(cp.tree_size() == 4);
  auto verified = VerifyCheckpoint(cp.note(), *ToHash32(cp.node_key()));
  REQUIRE(verified.ok());
  CHECK(AsString(verified->root) == cp.root());
}

TEST_CASE("retrying an atomic batch answers every member with its original result",
          "[integration][grpc]") {
  DevNode node;
  REQUIRE(node.Start());
  node.ChipJson({"keys", "new", "r"});
  pb::SubmitBatchRequest req;
  req.set_atomic(true);
  for (int i = 0; i < 3; ++i) {
    std::string hex = node.ChipJson({"send", "r", "1", "--sign-only"})["tx_hex"];
    REQUIRE(req.add_txs()->ParseFromString(*FromHex(hex)));
  }
  auto stub =
      pb::Ledger::NewStub(grpc::CreateChannel(node.address(), grpc::InsecureChannelCredentials()));
  pb::SubmitBatchResponse first, again;
  {
    auto ctx = Ctx();
    REQUIRE(stub->SubmitBatch(ctx.get(), req, &first).ok());
  }
  {
    auto ctx = Ctx();
    REQUIRE(stub->SubmitBatch(ctx.get(), req, &again).ok());
  }
  REQUIRE(first.results_size() == 3);
  REQUIRE(again.results_size() == 3);
  for (int i = 0; i < 3; ++i) {
    INFO("member " << i);
    CHECK(first.results(i).code() == pb::RESULT_OK);
    CHECK_FALSE(first.results(i).already_applied());
    CHECK(again.results(i).code() == pb::RESULT_OK);
    CHECK(again.results(i).already_applied());
    CHECK(again.results(i).height() == first.results(i).height());
    CHECK(again.results(i).index() == first.results(i).index());
  }
  CHECK(node.ChipJson({"balance", "r"})["balance"]["ucu"] == 3'000'000);
  // The same transaction twice in one batch is refused outright.
  pb::SubmitBatchRequest twice;
  *twice.add_txs() = req.txs(0);
  *twice.add_txs() = req.txs(0);
  pb::SubmitBatchResponse resp;
  auto ctx = Ctx();
  CHECK(stub->SubmitBatch(ctx.get(), twice, &resp).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
}

// Regression (issue #13): an unparseable request was answered INTERNAL with an
// empty message by gRPC's generated handlers, and nothing was logged. Every
// method of the node's own services (unary, and the one server-streaming
// method) now answers it INVALID_ARGUMENT saying what did not parse, and the
// node logs it at debug level.
TEST_CASE("a request that does not parse is INVALID_ARGUMENT with a message on every method",
          "[integration][grpc]") {
  DevNode node;
  REQUIRE(node.Start({"--log-level", "debug"}));
  auto channel = grpc::CreateChannel(node.address(), grpc::InsecureChannelCredentials());
  int methods = 0;
  // Found through a message of each file, which also links that file in.
  for (const google::protobuf::ServiceDescriptor* d :
       {pb::SubmitTxRequest::descriptor()->file()->FindServiceByName("Ledger"),
        pb::GetPriceRequest::descriptor()->file()->FindServiceByName("Pricing")}) {
    REQUIRE(d != nullptr);
    for (int i = 0; i < d->method_count(); ++i) {
      const google::protobuf::MethodDescriptor* m = d->method(i);
      const std::string path = "/" + d->full_name() + "/" + m->name();
      INFO(path);
      // A varint tag that never ends: no message parses from it.
      grpc::Status s = RawCall(channel, path, "\xff\xff\xff\xff");
      CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
      CHECK(s.error_message() ==
            "failed to parse the request as " + m->input_type()->full_name() + " (4 bytes)");
      ++methods;
    }
  }
  CHECK(methods == 19);  // 14 Ledger methods, 5 Pricing methods
  // Valid bytes still reach the handlers: an empty GetStatusRequest is fine.
  CHECK(RawCall(channel, "/chipledger.v1.Ledger/GetStatus", "").ok());
  std::string log = node.log();
  CHECK(log.find("[debug] /chipledger.v1.Ledger/SubmitBatch: failed to parse the request as "
                 "chipledger.v1.SubmitBatchRequest (4 bytes) from ipv4:127.0.0.1:") !=
        std::string::npos);
  CHECK(node.Chip({"status"}).code == 0);
}

// Regression (issue #13): the members of a failed atomic range were answered
// with height, index and block time 0, although their block holds them.
// Each now gets its place in that block, where GetBlock shows it with its
// code inside the atomic range, while nothing of it is recorded.
TEST_CASE("members of a failed atomic range are answered with their place in the block",
          "[integration][grpc]") {
  DevNode node;
  REQUIRE(node.Start());
  node.ChipJson({"keys", "new", "payee"});
  auto signed_send = [&](const std::string& amount, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"send", "payee", amount, "--sign-only"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::string hex = node.ChipJson(args)["tx_hex"];
    pb::SignedTx tx;
    REQUIRE(tx.ParseFromString(*FromHex(hex)));
    return tx;
  };
  // The middle transfer has expired by the time it is ordered: a rule only
  // the block decides (an overdraft would now be refused at admission,
  // before any block; docs/PROTOCOL.md, "Admission").
  pb::SubmitBatchRequest req;
  req.set_atomic(true);
  *req.add_txs() = signed_send("1");
  *req.add_txs() = signed_send("3", {"--valid-for", "1ms"});
  *req.add_txs() = signed_send("2");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto stub =
      pb::Ledger::NewStub(grpc::CreateChannel(node.address(), grpc::InsecureChannelCredentials()));
  pb::SubmitBatchResponse resp;
  {
    auto ctx = Ctx();
    REQUIRE(stub->SubmitBatch(ctx.get(), req, &resp).ok());
  }
  REQUIRE(resp.results_size() == 3);
  const pb::ResultCode expected[] = {pb::RESULT_ATOMIC_BATCH_FAILED, pb::RESULT_EXPIRED,
                                     pb::RESULT_ATOMIC_BATCH_FAILED};
  const uint64_t height = resp.results(0).height();
  const uint32_t first = resp.results(0).index();
  CHECK(height >= 1);
  pb::GetBlockResponse block;
  {
    pb::GetBlockRequest get;
    get.set_height(height);
    auto ctx = Ctx();
    REQUIRE(stub->GetBlock(ctx.get(), get, &block).ok());
  }
  REQUIRE(block.block().atomic_size() == 1);
  CHECK(block.block().atomic(0).first() == first);
  CHECK(block.block().atomic(0).count() == 3);
  for (int i = 0; i < 3; ++i) {
    INFO("member " << i);
    const pb::TxResult& r = resp.results(i);
    CHECK(r.code() == expected[i]);
    CHECK_FALSE(r.already_applied());
    CHECK(r.height() == height);
    CHECK(r.index() == first + static_cast<uint32_t>(i));
    CHECK(r.block_time_ms() == block.block().header().timestamp_ms());
    // The block holds the member at that index, with that code ...
    const int at = static_cast<int>(r.index());
    REQUIRE(at < block.block().txs_size());
    CHECK(block.block().txs(at).body() == req.txs(i).body());
    CHECK(block.block().results(at) == r.code());
    // ... but nothing of it is recorded.
    pb::GetTxRequest get;
    get.set_tx_hash(r.tx_hash());
    pb::GetTxResponse tx;
    auto ctx = Ctx();
    CHECK(stub->GetTx(ctx.get(), get, &tx).error_code() == grpc::StatusCode::NOT_FOUND);
  }
  CHECK(node.ChipJson({"balance", "payee"})["balance"]["ucu"] == 0);
  // Each member stays submittable: the first one alone commits now.
  pb::SubmitTxRequest single;
  *single.mutable_tx() = req.txs(0);
  pb::SubmitTxResponse one;
  auto ctx = Ctx();
  REQUIRE(stub->SubmitTx(ctx.get(), single, &one).ok());
  CHECK(one.result().code() == pb::RESULT_OK);
  CHECK_FALSE(one.result().already_applied());
  CHECK(one.result().height() > height);
}
