// Names of gRPC status codes, for messages and metrics labels.
#pragma once

#include <grpcpp/support/status_code_enum.h>

namespace chip {

// The canonical name of `code` as gRPC spells it ("UNAVAILABLE",
// "DEADLINE_EXCEEDED", ...), or "GRPC_ERROR" for a value outside the enum.
// The returned string is static; any thread may call this.
const char* GrpcCodeName(grpc::StatusCode code);

}  // namespace chip
