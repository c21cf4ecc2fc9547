// Fault-injection specs: every kind parses into the fields it uses, and malformed specs are user
// errors that name their source.
#include "nosync/swarm/fault.h"

#include <gtest/gtest.h>

#include "nosync/util/error.h"

namespace nosync::swarm {
namespace {

TEST(Faults, ParsesEveryKind) {
  const auto faults = parse_faults(
      "nan:particle=1:step=200,slow:particle=0:factor=4,throw:rank=1:step=50,kill:rank=2:step=7,stall:rank=3:step=9",
      "test");
  ASSERT_EQ(faults.size(), 5u);
  EXPECT_EQ(faults[0].kind, "nan");
  EXPECT_EQ(faults[0].particle, 1);
  EXPECT_EQ(faults[0].step, 200);
  EXPECT_EQ(faults[1].kind, "slow");
  EXPECT_EQ(faults[1].factor, 4.0);
  EXPECT_EQ(faults[2].kind, "throw");
  EXPECT_EQ(faults[2].rank, 1);
  EXPECT_EQ(faults[2].particle, -1);
  EXPECT_EQ(faults[2].step, 50);
  EXPECT_EQ(faults[3].kind, "kill");
  EXPECT_EQ(faults[3].rank, 2);
  EXPECT_EQ(faults[4].kind, "stall");
  EXPECT_EQ(faults[4].rank, 3);
  EXPECT_EQ(faults[4].step, 9);
  EXPECT_TRUE(parse_faults("", "test").empty());
  const auto particle_throw = parse_faults("throw:particle=0:step=30", "test");
  ASSERT_EQ(particle_throw.size(), 1u);
  EXPECT_EQ(particle_throw[0].particle, 0);
  EXPECT_EQ(particle_throw[0].rank, -1);
  EXPECT_EQ(particle_throw[0].step, 30);
}

TEST(Faults, MalformedSpecsAreUserErrors) {
  for (const char* spec : {"throw:step=5", "kill:particle=1:step=5", "nan:rank=1:step=5", "boom:rank=1",
                           "stall:rank=x", "throw:rank=1:when=5", "throw:rank=1:particle=0:step=5", "slow:particle=0:factor=0.5"}) {
    try {
      parse_faults(spec, "NOSYNC_FAULT");
      ADD_FAILURE() << spec << " was accepted";
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find("NOSYNC_FAULT"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace nosync::swarm
