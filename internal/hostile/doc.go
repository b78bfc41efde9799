// Package hostile plays the attacker in Wharf's security tests: a forged
// join, a raft poke from another local user, a fake install server, a
// workload that asks a node for more than it allows, a token guesser. Each
// helper does what an attacker with a foothold would do and reports what
// came back, so that a test can show the refusal. Only tests import it.
package hostile
