// Calls an AIMOS gateway with the official OpenAI SDK as any application would, and prints what it got as JSON.
import OpenAI from "openai";

const client = new OpenAI({ apiKey: process.env.AIMOS_KEY, baseURL: process.env.AIMOS_BASE_URL, maxRetries: 0 });
const out = {};
out.models = (await client.models.list()).data.map((m) => m.id);
const chat = await client.chat.completions.create({
  model: process.env.AIMOS_MODEL, messages: [{ role: "user", content: "I flew to New York" }], max_tokens: 20,
});
out.chat = { content: chat.choices[0].message.content, usage: chat.usage, finish: chat.choices[0].finish_reason };
const stream = await client.chat.completions.create({
  model: process.env.AIMOS_MODEL, messages: [{ role: "user", content: "I flew to New York" }], max_tokens: 20,
  stream: true, stream_options: { include_usage: true },
});
out.stream = { content: "", chunks: 0 };
for await (const chunk of stream) {
  out.stream.chunks++;
  out.stream.content += chunk.choices[0]?.delta?.content ?? "";
  if (chunk.usage) out.stream.usage = chunk.usage;
}
for (const [name, call] of [
  ["unknownModel", () => client.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "x" }] })],
  ["badKey", () => new OpenAI({ apiKey: "aimos_nobody_0", baseURL: process.env.AIMOS_BASE_URL, maxRetries: 0 })
    .chat.completions.create({ model: process.env.AIMOS_MODEL, messages: [{ role: "user", content: "x" }] })],
]) {
  try {
    await call();
    out[name] = { status: 200 };
  } catch (e) {
    out[name] = { status: e.status, type: e.constructor.name, message: e.error?.message ?? e.message };
  }
}
console.log(JSON.stringify(out));
