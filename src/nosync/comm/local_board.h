// The local transport: N particles as threads of one process sharing an in-memory board.
//
// Each particle's slot holds its latest snapshot behind its own mutex; a publish or fetch holds
// only that slot's lock for one memcpy of the weights, so no particle ever waits for another's
// training step. Collectives use a generation-counted barrier.
#pragma once

#include <memory>

#include "nosync/comm/transport.h"

namespace nosync::comm {

class LocalBoard {
 public:
  // `numel`: floats per snapshot (the model's parameter count).
  LocalBoard(int particles, int64_t numel);
  ~LocalBoard();
  LocalBoard(const LocalBoard&) = delete;
  LocalBoard& operator=(const LocalBoard&) = delete;

  // The endpoint for one particle (call once per particle; the board must outlive it).
  std::unique_ptr<Transport> endpoint(int particle);
  int particles() const;
  // Makes every blocked and future collective, publish and fetch throw comm::Aborted.
  void abort();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace nosync::comm
