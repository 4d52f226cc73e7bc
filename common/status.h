#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Returns early from the enclosing function when `expr` is not OK.
#define LANTERN_RETURN_IF_ERROR(expr)             \
  do {                                            \
    if (::absl::Status _st = (expr); !_st.ok()) { \
      return _st;                                 \
    }                                             \
  } while (0)

#define LANTERN_CONCAT_INNER(a, b) a##b
#define LANTERN_CONCAT(a, b) LANTERN_CONCAT_INNER(a, b)
#define LANTERN_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(*tmp)

// `lhs = *expr` when `expr` (an absl::StatusOr) is OK, else returns its status.
#define LANTERN_ASSIGN_OR_RETURN(lhs, expr)                                 \
  LANTERN_ASSIGN_OR_RETURN_IMPL(LANTERN_CONCAT(_status_or_, __LINE__), lhs, \
                                expr)

namespace lantern::common {

// absl and gRPC share the canonical status codes, so these are exact.
inline grpc::Status ToGrpcStatus(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()),
                      std::string(s.message()));
}

inline absl::Status FromGrpcStatus(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      s.error_message());
}

}  // namespace lantern::common
