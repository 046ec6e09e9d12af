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
const cosine = (a, b) => {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return dot / Math.sqrt(na * nb);
};
const emb = await client.embeddings.create({
  model: process.env.AIMOS_EMBEDDING_MODEL,
  input: ["The cat sits on the mat", "A cat is sitting on a rug", "Stock markets fell sharply today"],
});
out.embeddings = {
  count: emb.data.length, dimensions: emb.data[0].embedding.length, usage: emb.usage,
  near: cosine(emb.data[0].embedding, emb.data[1].embedding), far: cosine(emb.data[0].embedding, emb.data[2].embedding),
};
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
