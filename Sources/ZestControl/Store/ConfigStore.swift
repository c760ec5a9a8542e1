import ZestPolicy

/// The configuration files Zest runs from and the snapshot they produce. Reloading is
/// all-or-nothing: a valid set of files is published as one new `MeshState`; an invalid one
/// leaves the previous snapshot in place and reports why.
public final class ConfigStore: Sendable {
    public enum ReloadResult: Sendable {
        /// The new snapshot is published; the warnings say what has no L4 effect.
        case applied(generation: UInt64, warnings: [ConfigWarning])
        /// Nothing changed; the previous snapshot stays in force.
        case rejected(ConfigErrors)
    }

    public let files: [String]
    public let loader: ConfigLoader
    /// What workers read; see `MeshStateReader`.
    public let cell: MeshStateCell

    /// Loads `files` once; throws when they are invalid (Zest must not start on a broken config).
    public init(files: [String], loader: ConfigLoader = ConfigLoader()) throws(ConfigErrors) {
        self.files = files
        self.loader = loader
        let config = try loader.load(files: files)
        cell = MeshStateCell(config.makeState(rootNamespace: loader.rootNamespace))
    }

    /// Loads the files again and publishes the result if they are valid.
    @discardableResult
    public func reload() -> ReloadResult {
        do throws(ConfigErrors) {
            let config = try loader.load(files: files)
            cell.publish(config.makeState(rootNamespace: loader.rootNamespace))
            return .applied(generation: cell.generation, warnings: config.warnings)
        } catch {
            return .rejected(error)
        }
    }
}
