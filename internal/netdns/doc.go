// Package netdns is a node's DNS resolver for its containers: it answers
// the names of the organization's networks from the tables the server
// pushes (api.NodeNetwork.Names and Scopes) and forwards every other name
// to the node's own resolvers.
//
// Answers:
//
//   - A for a name of ours: all its addresses, in a new random order in
//     every answer, with TTL 0 so that no client keeps an answer once the
//     server has changed it (a scale, a move or a health change shows in
//     the next query). ANY is answered as A.
//   - AAAA or any other type for a name of ours: NOERROR with no records
//     (NODATA): the name exists, it has IPv4 addresses only.
//   - A name of ours whose list is empty (no ready container): NXDOMAIN,
//     with no SOA so that nothing caches the negative answer. Docker's
//     embedded DNS forgets such a name and forwards it, and the node's
//     resolver then says NXDOMAIN for a single-label name; answering it
//     here gives the client the same answer without a round trip and
//     without leaking internal names upstream.
//   - A name that is not ours: forwarded (UDP, then TCP when the answer is
//     truncated and the client asked over TCP; 2 s per upstream, each
//     upstream in turn), and SERVFAIL when none answers.
//   - PTR for an address of ours: the name with the fewest addresses that
//     holds it (a container's own name rather than its service's).
//
// Lookup: names are matched case-insensitively, with or without the
// trailing dot. The table used is that of the network whose subnet holds
// the query's source address (the longest such prefix; networks of the
// same subnet are merged), or the union of all networks for any other
// source. If Scopes maps the source to stack S, "<name>.<S>" is tried
// before "<name>" (so "db", "tasks.db" and "db-1" from a container of
// stack S find S's). A query "<name>.<domain>" that is not found, where
// domain is one of the node's search domains (resolv.conf's search and
// domain lines), is tried as "<name>": containers inherit those search
// domains, and this saves their resolver a forwarded query. Any other
// suffix is never stripped: "web.s1" is a stack's name of its own and
// "github.com" must not find a service called "github".
package netdns
