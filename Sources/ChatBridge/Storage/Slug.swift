/// URL-safe identifiers made from display names.
public enum Slug {
    /// `"My Team's Docs!"` → `"my-team-s-docs"`; never empty.
    public static func make(from name: String, fallback: String) -> String {
        var slug = ""
        var pendingDash = false
        for scalar in name.lowercased().unicodeScalars {
            if scalar.isASCII, scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) {
                if pendingDash, !slug.isEmpty { slug.append("-") }
                pendingDash = false
                slug.unicodeScalars.append(scalar)
            } else {
                pendingDash = true
            }
            if slug.count >= 60 { break }
        }
        return slug.isEmpty ? fallback : slug
    }

    /// `base`, or `base-2`, `base-3`… — the first that `isTaken` says is free.
    public static func unique(_ base: String, isTaken: (String) throws -> Bool) rethrows -> String {
        if try !isTaken(base) { return base }
        var counter = 2
        while try isTaken("\(base)-\(counter)") { counter += 1 }
        return "\(base)-\(counter)"
    }
}
