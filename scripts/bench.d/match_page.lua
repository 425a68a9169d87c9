-- A page of 50 match records with requester, partner and pool.
package.path = "scripts/bench.d/?.lua;" .. package.path
require("common").post('{"query":"{ matchRecords(first: 50) { edges { node { id kind matchedAt status requester { id nickname } partner { id nickname } pool { id name } } } pageInfo { hasNextPage endCursor } } }"}')
