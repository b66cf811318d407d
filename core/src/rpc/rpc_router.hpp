// The RPC method table. Handlers are registered before the server starts and
// read-only afterwards, so calls need no lock.
#pragma once

#include <string>
#include <unordered_map>

#include "switchboard/request.hpp"
#include "switchboard/server.hpp"

namespace switchboard::rpc {

class RpcRouter {
 public:
  void add(const std::string& method, RpcHandler handler) { handlers_[method] = std::move(handler); }

  // Runs the handler; unknown methods and exceptions become error outcomes
  // (RpcError keeps its code; anything else is handler_error).
  Future call(Request& req) const;

 private:
  std::unordered_map<std::string, RpcHandler> handlers_;
};

}  // namespace switchboard::rpc
