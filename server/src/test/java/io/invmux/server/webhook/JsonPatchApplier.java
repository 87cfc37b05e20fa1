package io.invmux.server.webhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** Applies an RFC 6902 patch's add, replace and remove operations (what an API server would do with ours). */
final class JsonPatchApplier {
    private JsonPatchApplier() {
    }

    static JsonNode apply(JsonNode doc, JsonNode patch) {
        JsonNode out = doc.deepCopy();
        for (JsonNode op : patch) {
            String path = op.path("path").asText();
            int cut = path.lastIndexOf('/');
            JsonNode parent = out.at(path.substring(0, cut));
            String last = path.substring(cut + 1).replace("~1", "/").replace("~0", "~");
            String kind = op.path("op").asText();
            if (parent instanceof ObjectNode o) {
                switch (kind) {
                    case "add" -> o.set(last, op.get("value"));
                    case "replace" -> {
                        if (!o.has(last)) {
                            throw new AssertionError("replace of a missing member: " + op);
                        }
                        o.set(last, op.get("value"));
                    }
                    case "remove" -> {
                        if (o.remove(last) == null) {
                            throw new AssertionError("remove of a missing member: " + op);
                        }
                    }
                    default -> throw new AssertionError("unexpected operation " + op);
                }
            } else if (parent instanceof ArrayNode a) {
                int i = last.equals("-") ? a.size() : Integer.parseInt(last);
                switch (kind) {
                    case "add" -> a.insert(i, op.get("value"));
                    case "replace" -> a.set(i, op.get("value"));
                    case "remove" -> a.remove(i);
                    default -> throw new AssertionError("unexpected operation " + op);
                }
            } else {
                throw new AssertionError("the parent of " + path + " does not exist: " + op);
            }
        }
        return out;
    }
}
