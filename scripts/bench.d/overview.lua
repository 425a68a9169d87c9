-- The admin home screen: findPartnerOverview for the window in $WINDOW.
package.path = "scripts/bench.d/?.lua;" .. package.path
local window = os.getenv("WINDOW") or "LAST_7_DAYS"
require("common").post('{"query":"{ findPartnerOverview(window: ' .. window .. ') { since tabs { key count } matchesByKind { kind matches matchesWithLead leadsAccepted friendsAdded } totals { matches leads { submitted accepted pending friendsAdded deliverySuccessRate } } plans { plan { name } local { submitted accepted friendsAdded } lastLeadAt } } }"}')
