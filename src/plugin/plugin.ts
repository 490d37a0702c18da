/** What every plugin is: a typed, named instance. Plugins of all kinds (scheduling, data layer, parsers) share it. */
/** A plugin instance's identity: its registered type and its (config-unique) name. */
export interface TypedName {
  readonly type: string;
  readonly name: string;
}

export interface Plugin {
  readonly typedName: TypedName;
}
