-- { __typename } over POST /graphql: the cost of the GraphQL layer itself.
package.path = "scripts/bench.d/?.lua;" .. package.path
require("common").post('{"query":"{ __typename }"}')
