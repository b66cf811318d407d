#include "rpc/rpc_router.hpp"

namespace switchboard::rpc {

Future RpcRouter::call(Request& req) const {
  auto it = handlers_.find(req.method());
  if (it == handlers_.end())
    return Future::failed({"unknown_method", "no RPC method named '" + req.method() + "'"});
  try {
    return it->second(req);
  } catch (const RpcError& e) {
    return Future::failed({e.code(), e.what()});
  } catch (const std::exception& e) {
    return Future::failed({"handler_error", e.what()});
  } catch (...) {
    return Future::failed({"handler_error", "unknown exception"});
  }
}

}  // namespace switchboard::rpc
