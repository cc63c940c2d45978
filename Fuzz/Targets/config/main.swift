// fuzz-config: the libFuzzer target (built by scripts/fuzz) or, in a normal
// build, a replay runner over corpus files. See Fuzz/README.md.
import LifelineFuzzKit

FuzzDriver.main(.config)
