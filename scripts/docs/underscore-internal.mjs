// typedoc plugin (scripts/docs.sh): members whose name starts with "_" are internal by the
// project's convention (plain JavaScript has no `private` for methods and fields shared
// between modules), so they are left out of the API reference and need no documentation.
import { Converter, ReflectionKind } from "typedoc";

/** @param {import("typedoc").Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    const project = context.project;
    for (const r of project.getReflectionsByKind(ReflectionKind.All)) {
      if (r.name.startsWith("_") && r.name !== "__type") project.removeReflection(r);
    }
  });
}
