package dev.atlas.http;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.atlas.array.ArraySpec;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.DType;
import dev.atlas.storage.local.LocalAtlas;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import dev.atlas.store.Attr;
import dev.atlas.store.DatasetView;
import dev.atlas.testing.EngineTestBase;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Attribute types have one vocabulary: a dataset attribute and an array attribute of the same kind
 * of value are tagged with the same name, the name of the value's dtype, in the catalog page and
 * in the dataset document (what {@code atlas ls --json} and {@code atlas info --json} print too).
 */
class AttributeTypesTest extends EngineTestBase {
    static final ObjectMapper MAPPER = new ObjectMapper();

    @Test
    void datasetAndArrayAttributesAreTaggedWithDtypeNames() throws Exception {
        Atlas atlas = LocalAtlas.create(tmp.resolve("typed"), AtlasOptions.builder(resources).tempDirectory(tmp).build())
                .block(TIMEOUT);
        try {
            DatasetView ds = atlas.createDataset("d").block(TIMEOUT);
            ds.setAttribute("flag", Attr.of(true)).block(TIMEOUT);
            ds.setAttribute("count", Attr.of(7L)).block(TIMEOUT);
            ds.setAttribute("scale", Attr.of(0.5)).block(TIMEOUT);
            ds.setAttribute("title", Attr.of("T")).block(TIMEOUT);
            ds.setAttribute("created", Attr.timestampNanos(1_700_000_000_000_000_000L)).block(TIMEOUT);
            ds.defineArray("a", ArraySpec.of(DType.FLOAT32, 2)).block(TIMEOUT);
            ds.setArrayAttribute("a", "flag", AttributeValue.ofBool(true)).block(TIMEOUT);
            ds.setArrayAttribute("a", "count", AttributeValue.ofInt64(7)).block(TIMEOUT);
            ds.setArrayAttribute("a", "scale", AttributeValue.ofFloat64(0.5)).block(TIMEOUT);
            ds.setArrayAttribute("a", "title", AttributeValue.ofString("T")).block(TIMEOUT);
            ds.setArrayAttribute("a", "range", AttributeValue.ofFloat32List(new float[] {0, 1})).block(TIMEOUT);
            atlas.flush().block(TIMEOUT);

            JsonNode doc = MAPPER.readTree(Catalog.datasetJson(atlas.dataset("d")).block(TIMEOUT));
            JsonNode page = MAPPER.readTree(Catalog.datasetsJson(atlas, List.of("d"))).get("datasets").get(0);
            for (JsonNode attrs : List.of(doc.get("attributes"), page.get("attributes"))) {
                assertEquals(DType.BOOL.toString(), attrs.get("flag").get("type").asText(), attrs.toString());
                assertEquals(true, attrs.get("flag").get("value").asBoolean());
                assertEquals(DType.INT64.toString(), attrs.get("count").get("type").asText());
                assertEquals(7, attrs.get("count").get("value").asLong());
                assertEquals(DType.FLOAT64.toString(), attrs.get("scale").get("type").asText());
                assertEquals(0.5, attrs.get("scale").get("value").asDouble());
                assertEquals(DType.STRING.toString(), attrs.get("title").get("type").asText());
                assertEquals("T", attrs.get("title").get("value").asText());
                assertEquals(DType.TIMESTAMP_NS.toString(), attrs.get("created").get("type").asText());
                assertEquals(1_700_000_000_000_000_000L, attrs.get("created").get("value").asLong());
            }
            JsonNode arrayAttrs = doc.get("arrays").get(0).get("attributes");
            for (String key : List.of("flag", "count", "scale", "title")) {
                assertEquals(doc.get("attributes").get(key), arrayAttrs.get(key),
                        key + ": the same value is tagged the same on a dataset and on an array");
            }
            assertEquals("Float32List", arrayAttrs.get("range").get("type").asText());
            assertEquals(doc.get("arrays").get(0).get("dtype").asText(), "Float32", "dtype names are the same vocabulary");
        } finally {
            atlas.close().block(TIMEOUT);
        }
    }
}
