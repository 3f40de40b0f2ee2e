// GraphQL over WebSocket servers from the reference libraries: `graphql-ws` (protocol graphql-transport-ws) or,
// with the argument "legacy", `subscriptions-transport-ws` (subprotocol graphql-ws, keep-alive "ka" every 200 ms).
// Prints its port. Schema: query hello(name) and subscription countdown(from) streaming from..0, then complete.
// connection_init must carry {"token":"secret"}: otherwise graphql-ws closes with 4403 and the legacy server
// answers connection_error.
const http = require("http");
const { WebSocketServer } = require("ws");
const {
  GraphQLInt, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, GraphQLString, execute, subscribe,
} = require("graphql");

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({
    name: "Query",
    fields: {
      hello: {
        type: GraphQLString,
        args: { name: { type: GraphQLString } },
        resolve: (_, { name }) => `hello ${name ?? "world"}`,
      },
    },
  }),
  subscription: new GraphQLObjectType({
    name: "Subscription",
    fields: {
      countdown: {
        type: GraphQLInt,
        args: { from: { type: new GraphQLNonNull(GraphQLInt) } },
        subscribe: async function* (_, { from }) {
          for (let i = from; i >= 0; i--) {
            yield { countdown: i };
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        },
      },
    },
  }),
});

if (process.argv[2] === "legacy") {
  const { SubscriptionServer } = require("subscriptions-transport-ws");
  const server = http.createServer();
  SubscriptionServer.create(
    {
      schema, execute, subscribe, keepAlive: 200,
      onConnect: (params) => {
        if (!params || params.token !== "secret") throw new Error("bad token");
        return {};
      },
    },
    { server, path: "/graphql" },
  );
  server.listen(0, "127.0.0.1", () => console.log(server.address().port));
} else {
  const { useServer } = require("graphql-ws/use/ws");
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, path: "/graphql" });
  useServer({ schema, onConnect: (ctx) => ctx.connectionParams?.token === "secret" }, wss);
  wss.on("listening", () => console.log(wss.address().port));
}
