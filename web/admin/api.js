// The console's GraphQL client and every document it sends. Each screen loads with one
// request to POST /graphql, with the token from sessionStorage as `Authorization: Bearer`.
(function () {
  'use strict';

  var Admin = (window.Admin = window.Admin || {});
  var TOKEN_KEY = 'partner-gateway.admin-token';

  var token = {
    get: function () {
      return window.sessionStorage.getItem(TOKEN_KEY) || '';
    },
    set: function (value) {
      window.sessionStorage.setItem(TOKEN_KEY, value);
    },
    clear: function () {
      window.sessionStorage.removeItem(TOKEN_KEY);
    },
  };

  // A failed request: the GraphQL errors (message and extensions.code) or the HTTP failure.
  function RequestError(errors, status) {
    this.name = 'RequestError';
    this.errors = errors;
    this.status = status;
    this.message = errors
      .map(function (error) {
        return error.message;
      })
      .join('; ');
  }
  RequestError.prototype = Object.create(Error.prototype);

  // Sends one GraphQL document and returns its `data`; throws RequestError when the response
  // has errors or is not GraphQL JSON.
  function request(query, variables) {
    return window
      .fetch('/graphql', {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/graphql-response+json, application/json',
          Authorization: 'Bearer ' + token.get(),
        },
        body: JSON.stringify({ query: query, variables: variables || {} }),
        credentials: 'omit',
        cache: 'no-store',
      })
      .then(
        function (response) {
          return response.json().then(
            function (body) {
              return { response: response, body: body };
            },
            function () {
              throw new RequestError(
                [{ message: '网关返回了非 JSON 的应答（HTTP ' + response.status + '）', code: 'HTTP_' + response.status }],
                response.status
              );
            }
          );
        },
        function (error) {
          throw new RequestError([{ message: '无法连接网关：' + error.message, code: 'NETWORK' }], 0);
        }
      )
      .then(function (result) {
        var body = result.body;
        if (body.errors && body.errors.length) {
          throw new RequestError(
            body.errors.map(function (error) {
              return {
                message: error.message,
                code: (error.extensions && error.extensions.code) || '',
                path: error.path ? error.path.join('.') : '',
              };
            }),
            result.response.status
          );
        }
        if (!result.response.ok || !body.data) {
          throw new RequestError(
            [{ message: '请求失败（HTTP ' + result.response.status + '）', code: 'HTTP_' + result.response.status }],
            result.response.status
          );
        }
        return body.data;
      });
  }

  var LEAD_COUNTS = 'submitted created existing pending rejected failed accepted deliverySuccessRate friendsAdded';
  var LEAD_SUMMARY = 'id deliveryStatus ckbCode ckbMessage friendStatus';
  var MEMBER = 'id nickname';
  var PAGE = 'totalCount @include(if: $firstPage) pageInfo { hasNextPage endCursor }';

  var queries = {
    overview:
      'query ConsoleOverview($window: StatsWindow!) {\n' +
      '  viewer { name role utcOffsetHours }\n' +
      '  findPartnerOverview(window: $window) {\n' +
      '    window since generatedAt\n' +
      '    tabs { key labelZh count windowed }\n' +
      '    matchesByKind { kind labelZh matches matchesWithLead leadsAccepted friendsAdded }\n' +
      '    totals { matches matchesWithLead matchLeadsAccepted matchFriendsAdded leads { ' + LEAD_COUNTS + ' } }\n' +
      '    plans {\n' +
      '      plan { id name purpose isDefault enabled remotePlanId }\n' +
      '      local { ' + LEAD_COUNTS + ' }\n' +
      '      lastLeadAt\n' +
      '      remote { remotePlanId name acquired processed passed passRateRaw fetchedAt }\n' +
      '      remoteError addSuccessRate\n' +
      '    }\n' +
      '  }\n' +
      '}',

    matchRecords:
      'query ConsoleMatchRecords($first: Int!, $after: String, $filter: MatchRecordFilter, $orderBy: MatchRecordOrder!, $firstPage: Boolean!) {\n' +
      '  viewer { name role utcOffsetHours }\n' +
      '  pools: partnerPools(first: 100) @include(if: $firstPage) { nodes { id name kind } }\n' +
      '  list: matchRecords(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {\n' +
      '    ' + PAGE + '\n' +
      '    nodes { id kind status matchedAt friendAdded pool { id name } requester { ' + MEMBER + ' } partner { ' + MEMBER + ' } lead { ' + LEAD_SUMMARY + ' } }\n' +
      '  }\n' +
      '}',

    partnerPools:
      'query ConsolePartnerPools($first: Int!, $after: String, $filter: PartnerPoolFilter, $firstPage: Boolean!) {\n' +
      '  viewer { name role utcOffsetHours }\n' +
      '  partner: selectedPartnerPool(kind: PARTNER) { id name }\n' +
      '  resource: selectedPartnerPool(kind: RESOURCE) { id name }\n' +
      '  mentor: selectedPartnerPool(kind: MENTOR) { id name }\n' +
      '  team: selectedPartnerPool(kind: TEAM) { id name }\n' +
      '  list: partnerPools(first: $first, after: $after, filter: $filter) {\n' +
      '    ' + PAGE + '\n' +
      '    nodes { id name description kind source requiredTags requirePhone requireWechat excludeMatchedWithinDays dailyMatchLimit enabled selected ckbPlan { id name } updatedAt }\n' +
      '  }\n' +
      '}',

    selectPartnerPool:
      'mutation ConsoleSelectPartnerPool($id: ID!) { selectPartnerPool(id: $id) { id name kind selected } }',

    mentorBookings:
      'query ConsoleMentorBookings($first: Int!, $after: String, $filter: MentorBookingFilter, $orderBy: MentorBookingOrder!, $firstPage: Boolean!) {\n' +
      '  viewer { name role utcOffsetHours }\n' +
      '  list: mentorBookings(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {\n' +
      '    ' + PAGE + '\n' +
      '    nodes { id topic slotStart slotEnd status note createdAt mentor { ' + MEMBER + ' } member { ' + MEMBER + ' } lead { ' + LEAD_SUMMARY + ' } }\n' +
      '  }\n' +
      '}',

    resourceMatches:
      'query ConsoleResourceMatches($first: Int!, $after: String, $filter: ResourceMatchFilter, $firstPage: Boolean!) {\n' +
      '  viewer { name role utcOffsetHours }\n' +
      '  list: resourceMatches(first: $first, after: $after, filter: $filter) {\n' +
      '    ' + PAGE + '\n' +
      '    nodes { id direction title tags status matchedAt createdAt owner { ' + MEMBER + ' } counterpart { ' + MEMBER + ' } lead { ' + LEAD_SUMMARY + ' } }\n' +
      '  }\n' +
      '}',

    teamRecruits:
      'query ConsoleTeamRecruits($first: Int!, $after: String, $filter: TeamRecruitFilter, $firstPage: Boolean!) {\n' +
      '  viewer { name role utcOffsetHours }\n' +
      '  list: teamRecruits(first: $first, after: $after, filter: $filter) {\n' +
      '    ' + PAGE + '\n' +
      '    nodes { id projectName stage headcount filledCount status createdAt roles { title count } owner { ' + MEMBER + ' } applications { id status lead { id deliveryStatus friendStatus } } }\n' +
      '  }\n' +
      '}',

    ckbPlans:
      'query ConsoleCkbPlans($window: StatsWindow!, $leadsFirst: Int!) {\n' +
      '  viewer { name role utcOffsetHours }\n' +
      '  ckbPlans {\n' +
      '    id name purpose isDefault enabled endpoint remotePlanId apiKeyMasked contentType\n' +
      '    interface { url method contentTypes fields { name typeName requirement descriptionZh signed } example { body stringToSign sign curl } }\n' +
      '    stats(window: $window) { local { ' + LEAD_COUNTS + ' } lastLeadAt remote { acquired processed passed passRateRaw fetchedAt } remoteError addSuccessRate }\n' +
      '  }\n' +
      '  failed: ckbLeads(first: $leadsFirst, filter: { deliveryStatus: FAILED }) { totalCount pageInfo { hasNextPage endCursor } nodes { ...ConsoleLead } }\n' +
      '  rejected: ckbLeads(first: $leadsFirst, filter: { deliveryStatus: REJECTED }) { totalCount pageInfo { hasNextPage endCursor } nodes { ...ConsoleLead } }\n' +
      '}\n' +
      'fragment ConsoleLead on CkbLead { id origin originId name identifier source deliveryStatus attempts lastError ckbCode ckbMessage createdAt plan { id name } }',

    leadsPage:
      'query ConsoleLeads($first: Int!, $after: String, $status: DeliveryStatus!) {\n' +
      '  list: ckbLeads(first: $first, after: $after, filter: { deliveryStatus: $status }) { totalCount pageInfo { hasNextPage endCursor } nodes { ...ConsoleLead } }\n' +
      '}\n' +
      'fragment ConsoleLead on CkbLead { id origin originId name identifier source deliveryStatus attempts lastError ckbCode ckbMessage createdAt plan { id name } }',

    sendTestLead:
      'mutation ConsoleSendTestLead($planId: ID!) {\n' +
      '  sendTestLead(planId: $planId) { answer httpStatus ckbCode ckbMessage body error durationMs request { body curl } }\n' +
      '}',

    retryLead:
      'mutation ConsoleRetryLead($id: ID!) {\n' +
      '  retryLead(id: $id) { alreadySubmitted lead { id deliveryStatus attempts ckbCode ckbMessage lastError } }\n' +
      '}',
  };

  Admin.api = { token: token, request: request, queries: queries, RequestError: RequestError };
})();
