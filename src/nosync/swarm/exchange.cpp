// make_exchange: the registry of algorithms.
#include "nosync/swarm/exchange.h"

#include "nosync/util/error.h"

namespace nosync::swarm {

std::unique_ptr<Exchange> make_exchange(Algo algo, const ExchangeContext& context) {
  switch (algo) {
    case Algo::kNoSync: return make_nosync_exchange(context);
    case Algo::kSync: return make_sync_exchange(context);
    case Algo::kLocalSgd: return make_local_sgd_exchange(context);
    case Algo::kEasgd: return make_easgd_exchange(context);
    case Algo::kDiLoCo: return make_diloco_exchange(context);
    case Algo::kSingle: break;
  }
  NOSYNC_CHECK(false, "swarm.algo = {} has no exchange", algo_name(algo));
  return nullptr;
}

torch::Tensor find_tensor(const train::CheckpointContent& ck, const std::string& name) {
  for (const auto& [n, t] : ck.optimizer)
    if (n == name) return t;
  return {};
}

}  // namespace nosync::swarm
