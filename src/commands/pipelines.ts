import { listCommand } from "./stages.ts";

export default listCommand("pipeline");
