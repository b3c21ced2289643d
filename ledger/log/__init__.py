"""The log: hashes, Merkle trees and proofs, signed notes, checkpoints, entries, audit."""
