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

// A fault that could never fire is refused, naming what does not exist.
void expect_refused(const std::string& spec, int particles, int ranks, const std::string& text) {
  try {
    check_fault_targets(parse_faults(spec, "swarm.fault"), particles, ranks, "swarm.fault");
    ADD_FAILURE() << spec << " was accepted with " << particles << " particles, " << ranks << " ranks";
  } catch (const UserError& e) {
    EXPECT_NE(one_line(e).find(text), std::string::npos) << one_line(e);
    EXPECT_NE(one_line(e).find("swarm.fault"), std::string::npos) << one_line(e);
  }
}

TEST(Faults, TargetsMustExist) {
  expect_refused("nan:particle=4:step=1", 4, 0, "names particle 4, but the run has 4 particle(s) (0 .. 3)");
  expect_refused("throw:particle=9:step=1", 2, 2, "names particle 9");
  expect_refused("kill:rank=1:step=1", 2, 0, "not an MPI job");
  expect_refused("stall:rank=2:step=1", 2, 2, "names rank 2, but the MPI job has 2 rank(s)");
  EXPECT_NO_THROW(check_fault_targets(parse_faults("nan:particle=3:step=1,slow:particle=0:factor=2", "f"), 4, 0, "f"));
  EXPECT_NO_THROW(check_fault_targets(parse_faults("kill:rank=1:step=5,throw:particle=1:step=2", "f"), 2, 2, "f"));
}

TEST(Faults, FieldsAreWholeNumbers) {
  for (const char* spec : {"nan:particle=1.5:step=2", "nan:particle=-1:step=2", "throw:rank=0:step=-3",
                           "throw:rank=0:step=1e30"}) {
    EXPECT_THROW(parse_faults(spec, "swarm.fault"), UserError) << spec;
  }
}

}  // namespace
}  // namespace nosync::swarm
